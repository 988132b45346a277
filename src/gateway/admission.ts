// Whether a tunnel may open: every rule the brief sets for a connection through the gateway, in
// the order a refusal is cheapest. The credential must be signed by the broker (its JWKS), for an
// asset this gateway fronts (aud), with a scope the asset's endpoint allows, presented by the
// device its cnf names (proof of possession over this connection's challenge), and the broker
// must say, now, that the session is active.
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import type { CredentialClaims } from '../wire/claims.js'
import type { FrontedAsset, TunnelRefusalCode } from '../wire/gateway.js'
import { verifyPossessionProof } from '../wire/proof-of-possession.js'
import type { BrokerLink } from './broker-link.js'

export class Refusal extends Error {
  constructor(readonly code: TunnelRefusalCode, message: string) {
    super(message)
  }
}

export interface AdmissionContext {
  gateway: string
  issuer: string
  jwks: JWTVerifyGetKey
  link: BrokerLink
  assets: () => Map<string, FrontedAsset>
  /** Sessions the stream has reported ended (kept so a late "active" answer cannot reopen one). */
  ended: (sessionId: string) => boolean
}

export interface Admitted {
  claims: CredentialClaims
  asset: FrontedAsset
}

/** How often at most an unknown key id makes the gateway fetch the broker's keys again (a rotated key). */
const JWKS_COOLDOWN_MS = 30_000

/** The broker's signing keys (its JWKS), fetched over the gateway's own line to the broker. */
export async function brokerKeys(link: BrokerLink): Promise<JWTVerifyGetKey> {
  let keys = createLocalJWKSet(await link.get<JSONWebKeySet>('/.well-known/jwks.json'))
  let fetchedAt = Date.now()
  return async (header, token) => {
    try {
      return await keys(header, token)
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY' || Date.now() - fetchedAt < JWKS_COOLDOWN_MS) throw error
      fetchedAt = Date.now()
      keys = createLocalJWKSet(await link.get<JSONWebKeySet>('/.well-known/jwks.json'))
      return keys(header, token)
    }
  }
}

export async function admit(ctx: AdmissionContext, open: Record<string, unknown>, nonce: string): Promise<Admitted> {
  if (open.type !== 'open' || typeof open.asset !== 'string' || typeof open.token !== 'string' || open.token.length > 8192) {
    throw new Refusal('bad-frame', 'expected an open frame with asset, token and proof')
  }
  const asset = assetFronted(ctx, open.asset)
  const claims = await credentialFor(ctx, open.token, asset)
  scopeAllowed(asset, claims)
  const proof = possessionProven(ctx, open.proof, open.token, claims, nonce)
  await activeAtBroker(ctx, open.token, claims, { proof, challenge: nonce })
  return { claims, asset }
}

function assetFronted(ctx: AdmissionContext, path: string): FrontedAsset {
  const asset = ctx.assets().get(path)
  if (!asset) throw new Refusal('wrong-asset', `this gateway does not front ${path.slice(0, 200)}`)
  return asset
}

async function credentialFor(ctx: AdmissionContext, token: string, asset: FrontedAsset): Promise<CredentialClaims> {
  try {
    const { payload } = await jwtVerify(token, ctx.jwks, { algorithms: ['EdDSA'], issuer: ctx.issuer, audience: asset.path, requiredClaims: ['sid', 'jti', 'exp', 'scope', 'cnf'] })
    const claims = payload as unknown as CredentialClaims
    if (typeof claims.cnf?.jkt !== 'string' || typeof claims.sid !== 'string' || typeof claims.scope !== 'string') throw new Error('claims malformed')
    return claims
  } catch (error) {
    const e = error as { code?: string; claim?: string }
    if (e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'aud') throw new Refusal('wrong-asset', `the credential is not for ${asset.path}`)
    // Which check failed (signature, issuer, expiry) is not told to an unproven client.
    throw new Refusal('bad-token', 'the credential is not valid here')
  }
}

function scopeAllowed(asset: FrontedAsset, claims: CredentialClaims): void {
  if (asset.scopes && !asset.scopes.includes(claims.scope)) {
    throw new Refusal('scope-not-allowed', `scope ${claims.scope} is not allowed on this endpoint (allowed: ${asset.scopes.join(', ')})`)
  }
}

/** The proof, once it shows possession (so the broker's check can be given it). */
function possessionProven(ctx: AdmissionContext, proof: unknown, token: string, claims: CredentialClaims, nonce: string): string {
  // The nonce is fresh for this connection; the proof's time is checked too, as everywhere.
  const verdict = verifyPossessionProof(proof, { token, jti: claims.jti, asset: claims.aud, jkt: claims.cnf.jkt, challenge: nonce, verifier: ctx.gateway, nowEpoch: Date.now() / 1000 })
  if (!verdict.ok) throw new Refusal('no-proof', `no proof of possession of the device key the credential is bound to (${verdict.reason})`)
  return proof as string
}

/**
 * The broker's word that the session is active. The proof goes with the question, so the broker
 * checks possession itself and its record of this verification says it was proven.
 */
async function activeAtBroker(ctx: AdmissionContext, token: string, claims: CredentialClaims, pop: { proof: string; challenge: string }): Promise<void> {
  if (ctx.ended(claims.sid)) throw new Refusal('inactive', `session ${claims.sid} has ended`)
  let answer: { active?: boolean; sid?: string; possession?: { verified?: boolean; reason?: string } }
  try {
    answer = await ctx.link.post<typeof answer>('/introspect', { token, ...pop }, 5000)
  } catch (error) {
    throw new Refusal('unavailable', `cannot ask the broker whether the session is active (${(error as Error).message})`)
  }
  if (answer.active !== true || answer.sid !== claims.sid || ctx.ended(claims.sid)) throw new Refusal('inactive', `session ${claims.sid} is not active`)
  if (answer.possession?.verified !== true) {
    throw new Refusal('no-proof', `the broker does not accept the proof of possession${answer.possession?.reason ? ` (${answer.possession.reason})` : ''}`)
  }
}
