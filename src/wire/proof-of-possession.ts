// Proof of possession of the device key a credential is bound to (its `cnf.jkt`): a copied token
// alone opens nothing. The holder signs a short-lived proof (a compact JWS, much like DPoP,
// RFC 9449) over the challenge the verifier chose, the verifier's name (a gateway, or a verifier
// registered with the broker), the credential (a hash of the whole token, its `jti` and its
// asset) and the time. The proof carries the public key; a verifier accepts it only when that
// key's RFC 7638 thumbprint is the one the credential names. One format for every verifier: the
// gateway's tunnel handshake (signed by jit connect and jit ssh) and broker introspection (a
// verifier relays the proof with `proof` and `challenge`). No I/O, no clock; the token's own
// checks are src/util/jws.ts's, the thumbprint is jose's (the one enrollment stores as `jkt`).
import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { decodeJws, signatureHolds, signJwt } from '../util/jws.js'

export const POSSESSION_PROOF_TYP = 'jit-pop+jwt'
/** How old (or early, for clock skew) a proof may be. */
export const POSSESSION_PROOF_MAX_AGE_SECONDS = 60
/** The proof's JWS type, and a bound longer than any proof this module makes (refused before parsing). */
const POSSESSION_PROOF_SHAPE = { typ: POSSESSION_PROOF_TYP, maxLength: 4096 }

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
export async function jwkThumbprint(jwk: Ed25519PublicJwk): Promise<string> {
  // Loaded when first needed: the holder's side (jit connect, jit ssh) only signs, and starts without it.
  const { calculateJwkThumbprint } = await import('jose')
  return calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x })
}

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url')

/** The holder's side: a proof, made with the device key, for exactly this binding, at `nowEpoch`. */
export function signPossessionProof(privateKey: KeyObject, binding: PossessionBinding & { nowEpoch: number }): string {
  const { x } = createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }
  const claims: PossessionProofClaims = {
    nonce: binding.challenge,
    aud: binding.verifier,
    ath: tokenHash(binding.token),
    jti: binding.jti,
    asset: binding.asset,
    iat: Math.floor(binding.nowEpoch),
  }
  return signJwt(claims as unknown as Record<string, unknown>, privateKey, { typ: POSSESSION_PROOF_TYP, jwk: { kty: 'OKP', crv: 'Ed25519', x } })
}

export type PossessionVerdict = { ok: true } | { ok: false; reason: string }

/**
 * The verifier's side: does `proof` show possession of the key `jkt` names, for this binding,
 * now? Never throws: anything malformed is a refusal with a reason.
 */
export async function verifyPossessionProof(proof: unknown, expected: PossessionBinding & { jkt: string; nowEpoch: number }): Promise<PossessionVerdict> {
  const malformed: PossessionVerdict = { ok: false, reason: 'the proof is malformed' }
  const jws = decodeJws(proof, POSSESSION_PROOF_SHAPE)
  if (!jws || !isEd25519Jwk(jws.header.jwk)) return malformed
  // Only the thumbprint ties the key to the credential; check it before trusting the key at all.
  const holder = await holderKey(jws.header.jwk)
  if (!holder) return malformed
  if (holder.jkt !== expected.jkt) return { ok: false, reason: 'the proof is signed by a key other than the one the credential is bound to' }
  if (!signatureHolds(jws, holder.key)) return { ok: false, reason: 'the proof\'s signature does not verify' }
  const claims = jws.claims as Partial<PossessionProofClaims>
  if (claims.nonce !== expected.challenge) return { ok: false, reason: 'the proof is for another challenge' }
  if (claims.aud !== expected.verifier) return { ok: false, reason: 'the proof is for another verifier' }
  if (claims.ath !== tokenHash(expected.token) || claims.jti !== expected.jti) return { ok: false, reason: 'the proof goes with another credential' }
  if (claims.asset !== expected.asset) return { ok: false, reason: 'the proof is for another asset' }
  if (typeof claims.iat !== 'number' || !(Math.abs(expected.nowEpoch - claims.iat) <= POSSESSION_PROOF_MAX_AGE_SECONDS)) {
    return { ok: false, reason: 'the proof is too old or its clock is wrong' }
  }
  return { ok: true }
}

/** Device keys seen in proofs, imported once each with their thumbprint (a device proves at every tunnel it opens). */
const holderKeys = new Map<string, { jkt: string; key: KeyObject }>()
const HOLDER_KEYS_KEPT = 1024

async function holderKey(jwk: Ed25519PublicJwk): Promise<{ jkt: string; key: KeyObject } | undefined> {
  const known = holderKeys.get(jwk.x)
  if (known) return known
  let key: KeyObject
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
  } catch {
    return undefined
  }
  const entry = { jkt: await jwkThumbprint(jwk), key }
  // Forgotten all at once when full: a bound on memory, not a policy; the next proofs import again.
  if (holderKeys.size >= HOLDER_KEYS_KEPT) holderKeys.clear()
  holderKeys.set(jwk.x, entry)
  return entry
}

function isEd25519Jwk(value: unknown): value is Ed25519PublicJwk {
  const jwk = value as Record<string, unknown> | null
  return typeof jwk === 'object' && jwk !== null && Object.keys(jwk).length === 3 && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jwk.x)
}
