// Whether a tunnel may open: every rule the brief sets for a connection through the gateway, in
// the order a refusal is cheapest. The credential must be signed by the broker (a key of its JWKS,
// checked by the same compact-JWS code as everywhere in jit), for an
// asset this gateway fronts (aud), with a scope the asset's endpoint allows, presented by the
// device its cnf names (proof of possession over this connection's challenge), and the broker
// must say, now, that the session is active.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { decodeJws, signatureHolds } from '../util/jws.js'
import { CREDENTIAL_SHAPE, type CredentialClaims } from '../wire/claims.js'
import type { FrontedAsset, TunnelRefusalCode } from '../wire/gateway.js'
import { verifyPossessionProof } from '../wire/proof-of-possession.js'
import type { BrokerLink } from './broker-link.js'
import { READ_ONLY, type ModbusGrant } from './protocols/modbus-tcp.js'

export class Refusal extends Error {
  constructor(readonly code: TunnelRefusalCode, message: string) {
    super(message)
  }
}

export interface AdmissionContext {
  gateway: string
  issuer: string
  jwks: BrokerKeys
  link: BrokerLink
  assets: () => Map<string, FrontedAsset>
  /** Sessions the stream has reported ended (kept so a late "active" answer cannot reopen one). */
  ended: (sessionId: string) => boolean
}

export interface Admitted {
  claims: CredentialClaims
  asset: FrontedAsset
  /** A Modbus asset: what the session may send beyond reading (the broker's answer; read-only when it gives none). */
  modbus?: ModbusGrant
}

/** How often at most an unknown key id makes the gateway fetch the broker's keys again (a rotated key). */
const JWKS_COOLDOWN_MS = 30_000

/** The broker's public signing key of a key id, imported once; undefined for a kid it does not publish. */
export type BrokerKeys = (kid: unknown) => Promise<KeyObject | undefined>

/** The broker's signing keys (its JWKS), fetched over the gateway's own line to the broker. */
export async function brokerKeys(link: BrokerLink): Promise<BrokerKeys> {
  let keys = await fetchBrokerKeys(link)
  let fetchedAt = Date.now()
  return async (kid) => {
    if (typeof kid !== 'string') return undefined
    const known = keys.get(kid)
    if (known || Date.now() - fetchedAt < JWKS_COOLDOWN_MS) return known
    fetchedAt = Date.now()
    keys = await fetchBrokerKeys(link)
    return keys.get(kid)
  }
}

/** The Ed25519 signing keys of the JWKS by kid; any other key in it is ignored. */
async function fetchBrokerKeys(link: BrokerLink): Promise<Map<string, KeyObject>> {
  const { keys } = await link.get<{ keys?: Record<string, unknown>[] }>('/.well-known/jwks.json')
  const byKid = new Map<string, KeyObject>()
  for (const jwk of Array.isArray(keys) ? keys : []) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string' || typeof jwk.x !== 'string') continue
    if ((jwk.alg !== undefined && jwk.alg !== 'EdDSA') || (jwk.use !== undefined && jwk.use !== 'sig')) continue
    try {
      byKid.set(jwk.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }))
    } catch {
      // Not a key: as if it were not published.
    }
  }
  return byKid
}

export async function admit(ctx: AdmissionContext, open: Record<string, unknown>, nonce: string): Promise<Admitted> {
  if (open.type !== 'open' || typeof open.asset !== 'string' || typeof open.token !== 'string' || open.token.length > 8192) {
    throw new Refusal('bad-frame', 'expected an open frame with asset, token and proof')
  }
  const asset = assetFronted(ctx, open.asset)
  const claims = await credentialFor(ctx, open.token, asset)
  scopeAllowed(asset, claims)
  const proof = await possessionProven(ctx, open.proof, open.token, claims, nonce)
  const answer = await activeAtBroker(ctx, open.token, claims, { proof, challenge: nonce })
  return { claims, asset, ...(asset.protocol === 'modbus-tcp' ? { modbus: modbusGrantOf(answer.modbus) } : {}) }
}

function assetFronted(ctx: AdmissionContext, path: string): FrontedAsset {
  const asset = ctx.assets().get(path)
  if (!asset) throw new Refusal('wrong-asset', `this gateway does not front ${path.slice(0, 200)}`)
  return asset
}

/**
 * The credential, checked as the broker signs it (src/util/jws.ts: EdDSA, typ JWT, no crit) by
 * a key the broker publishes, from this broker (iss), for this asset (aud), inside its time
 * window, with the claims admission reads.
 */
async function credentialFor(ctx: AdmissionContext, token: string, asset: FrontedAsset): Promise<CredentialClaims> {
  // Which check failed (signature, issuer, expiry) is not told to an unproven client.
  const invalid = new Refusal('bad-token', 'the credential is not valid here')
  const jws = decodeJws(token, CREDENTIAL_SHAPE)
  if (!jws) throw invalid
  const key = await ctx.jwks(jws.header.kid).catch(() => undefined)
  if (!key || !signatureHolds(jws, key)) throw invalid
  const claims = jws.claims as Partial<CredentialClaims>
  if (claims.iss !== ctx.issuer) throw invalid
  if (claims.aud !== asset.path) throw new Refusal('wrong-asset', `the credential is not for ${asset.path}`)
  const now = Math.floor(Date.now() / 1000)
  if (typeof claims.exp !== 'number' || claims.exp <= now) throw invalid
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now)) throw invalid
  if (claims.iat !== undefined && typeof claims.iat !== 'number') throw invalid
  if (typeof claims.sid !== 'string' || typeof claims.jti !== 'string' || typeof claims.scope !== 'string' || typeof claims.cnf?.jkt !== 'string') throw invalid
  return claims as CredentialClaims
}

function scopeAllowed(asset: FrontedAsset, claims: CredentialClaims): void {
  if (asset.scopes && !asset.scopes.includes(claims.scope)) {
    throw new Refusal('scope-not-allowed', `scope ${claims.scope} is not allowed on this endpoint (allowed: ${asset.scopes.join(', ')})`)
  }
}

/** The proof, once it shows possession (so the broker's check can be given it). */
async function possessionProven(ctx: AdmissionContext, proof: unknown, token: string, claims: CredentialClaims, nonce: string): Promise<string> {
  // The nonce is fresh for this connection; the proof's time is checked too, as everywhere.
  const verdict = await verifyPossessionProof(proof, { token, jti: claims.jti, asset: claims.aud, jkt: claims.cnf.jkt, challenge: nonce, verifier: ctx.gateway, nowEpoch: Date.now() / 1000 })
  if (!verdict.ok) throw new Refusal('no-proof', `no proof of possession of the device key the credential is bound to (${verdict.reason})`)
  return proof as string
}

/**
 * The broker's word that the session is active. The proof goes with the question, so the broker
 * checks possession itself and its record of this verification says it was proven.
 */
async function activeAtBroker(ctx: AdmissionContext, token: string, claims: CredentialClaims, pop: { proof: string; challenge: string }): Promise<{ modbus?: unknown }> {
  if (ctx.ended(claims.sid)) throw new Refusal('inactive', `session ${claims.sid} has ended`)
  let answer: { active?: boolean; sid?: string; possession?: { verified?: boolean; reason?: string }; modbus?: unknown }
  try {
    answer = await ctx.link.post<typeof answer>('/introspect', { token, ...pop }, 5000)
  } catch (error) {
    throw new Refusal('unavailable', `cannot ask the broker whether the session is active (${(error as Error).message})`)
  }
  if (answer.active !== true || answer.sid !== claims.sid || ctx.ended(claims.sid)) throw new Refusal('inactive', `session ${claims.sid} is not active`)
  if (answer.possession?.verified !== true) {
    throw new Refusal('no-proof', `the broker does not accept the proof of possession${answer.possession?.reason ? ` (${answer.possession.reason})` : ''}`)
  }
  return answer
}

/** The grant as the broker's answer states it; anything not well formed reads as read-only (fail closed). */
function modbusGrantOf(value: unknown): ModbusGrant {
  const grant = value as Partial<ModbusGrant> | undefined
  if (!grant || !Array.isArray(grant.writes) || typeof grant.programming !== 'boolean') return READ_ONLY
  const ranges = (list: unknown) => Array.isArray(list) && list.every((r) => Array.isArray(r) && r.length === 2 && r.every((n) => Number.isInteger(n) && n >= 0 && n <= 65535))
  const writes = grant.writes.filter((w) => w && (w.unit === undefined || Number.isInteger(w.unit)) && (w.coils === undefined || ranges(w.coils)) && (w.registers === undefined || ranges(w.registers)))
  return { writes: writes.length === grant.writes.length ? writes : [], programming: grant.programming }
}
