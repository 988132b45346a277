// Proof of possession of the device key a credential is bound to (its `cnf.jkt`): a copied token
// alone opens nothing. The holder signs a short-lived proof (a compact JWS, much like DPoP,
// RFC 9449) over the challenge the verifier chose, the verifier's name (a gateway, or a verifier
// registered with the broker), the credential (a hash of the whole token, its `jti` and its
// asset) and the time. The proof carries the public key; a verifier accepts it only when that
// key's RFC 7638 thumbprint is the one the credential names. One format for every verifier: the
// gateway's tunnel handshake (signed by jit connect and jit ssh) and broker introspection (a
// verifier relays the proof with `proof` and `challenge`). Pure functions: no I/O, no clock.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'

export const POSSESSION_PROOF_TYP = 'jit-pop+jwt'
/** How old (or early, for clock skew) a proof may be. */
export const POSSESSION_PROOF_MAX_AGE_SECONDS = 60
/** Longer than any proof this module makes; refused before parsing. */
const MAX_PROOF_LENGTH = 4096

export interface Ed25519PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
}

/** Everything a proof is bound to, on both sides. */
export interface PossessionBinding {
  /** The challenge (nonce) the verifier handed out. */
  challenge: string
  /** Who the proof is for: the gateway's or verifier's name, so it cannot be replayed to another. */
  verifier: string
  /** The credential the proof goes with (signed as its SHA-256). */
  token: string
  /** The credential's `jti`. */
  jti: string
  /** The asset the credential is for (its `aud`). */
  asset: string
}

export interface PossessionProofClaims {
  nonce: string
  aud: string
  /** base64url SHA-256 of the credential. */
  ath: string
  jti: string
  asset: string
  iat: number
}

/** RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 public key: what `cnf.jkt` names. */
export function jwkThumbprint(jwk: Ed25519PublicJwk): string {
  return createHash('sha256').update(`{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}"}`).digest('base64url')
}

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url')

/** The holder's side: a proof, made with the device key, for exactly this binding, at `nowEpoch`. */
export function signPossessionProof(privateKey: KeyObject, binding: PossessionBinding & { nowEpoch: number }): string {
  const { x } = createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }
  const head = { alg: 'EdDSA', typ: POSSESSION_PROOF_TYP, jwk: { kty: 'OKP', crv: 'Ed25519', x } }
  const claims: PossessionProofClaims = {
    nonce: binding.challenge,
    aud: binding.verifier,
    ath: tokenHash(binding.token),
    jti: binding.jti,
    asset: binding.asset,
    iat: Math.floor(binding.nowEpoch),
  }
  const signingInput = `${b64(head)}.${b64(claims)}`
  return `${signingInput}.${sign(null, Buffer.from(signingInput), privateKey).toString('base64url')}`
}

export type PossessionVerdict = { ok: true } | { ok: false; reason: string }

/**
 * The verifier's side: does `proof` show possession of the key `jkt` names, for this binding,
 * now? Never throws: anything malformed is a refusal with a reason.
 */
export function verifyPossessionProof(proof: unknown, expected: PossessionBinding & { jkt: string; nowEpoch: number }): PossessionVerdict {
  const malformed: PossessionVerdict = { ok: false, reason: 'the proof is malformed' }
  const parts = typeof proof === 'string' && proof.length <= MAX_PROOF_LENGTH ? proof.split('.') : []
  if (parts.length !== 3) return malformed
  let head: { alg?: unknown; typ?: unknown; jwk?: Record<string, unknown> }
  let claims: Partial<PossessionProofClaims>
  try {
    head = JSON.parse(Buffer.from(parts[0], 'base64url').toString())
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString())
  } catch {
    return malformed
  }
  if (typeof head !== 'object' || head === null || typeof claims !== 'object' || claims === null) return malformed
  if (head.alg !== 'EdDSA' || head.typ !== POSSESSION_PROOF_TYP || !isEd25519Jwk(head.jwk)) return malformed
  // Only the thumbprint ties the key to the credential; check it before trusting the key at all.
  if (jwkThumbprint(head.jwk) !== expected.jkt) return { ok: false, reason: 'the proof is signed by a key other than the one the credential is bound to' }
  let key: KeyObject
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: head.jwk.x }, format: 'jwk' })
  } catch {
    return malformed
  }
  if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url'))) return { ok: false, reason: 'the proof\'s signature does not verify' }
  if (claims.nonce !== expected.challenge) return { ok: false, reason: 'the proof is for another challenge' }
  if (claims.aud !== expected.verifier) return { ok: false, reason: 'the proof is for another verifier' }
  if (claims.ath !== tokenHash(expected.token) || claims.jti !== expected.jti) return { ok: false, reason: 'the proof goes with another credential' }
  if (claims.asset !== expected.asset) return { ok: false, reason: 'the proof is for another asset' }
  if (typeof claims.iat !== 'number' || !(Math.abs(expected.nowEpoch - claims.iat) <= POSSESSION_PROOF_MAX_AGE_SECONDS)) {
    return { ok: false, reason: 'the proof is too old or its clock is wrong' }
  }
  return { ok: true }
}

function isEd25519Jwk(value: unknown): value is Ed25519PublicJwk {
  const jwk = value as Record<string, unknown> | null
  return typeof jwk === 'object' && jwk !== null && Object.keys(jwk).length === 3 && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jwk.x)
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
