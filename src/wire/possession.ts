// Proof of possession of the device key a credential is bound to (its `cnf.jkt`): a stolen token
// alone proves nothing. The holder signs a short-lived proof (a compact JWS, much like DPoP,
// RFC 9449) over a challenge the verifier chose, the verifier's name and a hash of the token;
// the proof carries the public key, and the verifier accepts it only when that key's RFC 7638
// thumbprint is the one the credential names. Pure functions: no I/O, no clock of their own.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'

export const POSSESSION_TYP = 'jit-pop+jwt'
/** How old (or early, for clock skew) a proof may be. */
export const POSSESSION_MAX_AGE_SECONDS = 60

export interface Ed25519PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
}

export interface PossessionClaims {
  /** The challenge (nonce) the verifier handed out. */
  nonce: string
  /** Who the proof is for: the verifier's name, so it cannot be replayed to another verifier. */
  aud: string
  /** base64url SHA-256 of the credential the proof goes with. */
  ath: string
  iat: number
}

/** RFC 7638 thumbprint of an Ed25519 public key: what `cnf.jkt` names. */
export function jwkThumbprint(jwk: Ed25519PublicJwk): string {
  return createHash('sha256').update(`{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}"}`).digest('base64url')
}

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url')

/** The holder's side: a proof over `challenge`, for `audience`, going with `token`. */
export function signPossession(privateKey: KeyObject, input: { token: string; challenge: string; audience: string; nowEpoch: number }): string {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }
  const head = { alg: 'EdDSA', typ: POSSESSION_TYP, jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } }
  const claims: PossessionClaims = { nonce: input.challenge, aud: input.audience, ath: tokenHash(input.token), iat: Math.floor(input.nowEpoch) }
  const signingInput = `${b64(head)}.${b64(claims)}`
  return `${signingInput}.${sign(null, Buffer.from(signingInput), privateKey).toString('base64url')}`
}

export type PossessionVerdict = { ok: true } | { ok: false; reason: string }

/** The verifier's side: does `proof` show possession of the key `jkt` names, for this token, challenge and verifier, now? */
export function verifyPossession(proof: string, expected: { token: string; jkt: string; challenge: string; audience: string; nowEpoch: number }): PossessionVerdict {
  const parts = typeof proof === 'string' && proof.length <= 4096 ? proof.split('.') : []
  if (parts.length !== 3) return { ok: false, reason: 'the proof is malformed' }
  let head: { alg?: unknown; typ?: unknown; jwk?: Record<string, unknown> }
  let claims: Partial<PossessionClaims>
  try {
    head = JSON.parse(Buffer.from(parts[0], 'base64url').toString())
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString())
  } catch {
    return { ok: false, reason: 'the proof is malformed' }
  }
  const jwk = head.jwk
  if (head.alg !== 'EdDSA' || head.typ !== POSSESSION_TYP || !jwk || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || Object.keys(jwk).length !== 3) {
    return { ok: false, reason: 'the proof is malformed' }
  }
  // Only the thumbprint ties the key to the credential; check it before trusting the key at all.
  if (jwkThumbprint(jwk as unknown as Ed25519PublicJwk) !== expected.jkt) return { ok: false, reason: 'the proof is signed by a key other than the one the credential is bound to' }
  let key: KeyObject
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
  } catch {
    return { ok: false, reason: 'the proof is malformed' }
  }
  if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url'))) return { ok: false, reason: 'the proof\'s signature does not verify' }
  if (claims.nonce !== expected.challenge) return { ok: false, reason: 'the proof is for another challenge' }
  if (claims.aud !== expected.audience) return { ok: false, reason: 'the proof is for another verifier' }
  if (claims.ath !== tokenHash(expected.token)) return { ok: false, reason: 'the proof goes with another credential' }
  if (typeof claims.iat !== 'number' || Math.abs(expected.nowEpoch - claims.iat) > POSSESSION_MAX_AGE_SECONDS) return { ok: false, reason: 'the proof is too old or its clock is wrong' }
  return { ok: true }
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
