// Compact EdDSA JWS, made and checked in this one place for every token jit signs: device
// assertions, session credentials, audit checkpoints and proofs of possession. Each caller finds
// the key its own way (a kid, a pinned broker key, a key the header carries) between decodeJws
// and signatureHolds; what a well-formed token is, and the signature check, are written once.
//
// Ed25519 signatures are deterministic, so the same claims always give the same token: the broker
// can hand a credential out again without ever storing it.
//
// node:crypto's synchronous verify, not jose's: jose verifies through WebCrypto, whose every call
// is a hop to the libuv pool, and that measured slower per call on the grant path, whose floor is
// this signature check (docs/PERFORMANCE.md). The device's CLI signs with this module on its
// start-up path, so it loads nothing but node:crypto.
import { sign, verify, type KeyObject } from 'node:crypto'

/** The only algorithm jit signs or accepts: "none", HMAC and every other alg are refused. */
export const JWS_ALG = 'EdDSA'

export function signJwt(payload: Record<string, unknown>, key: KeyObject, header: { typ: string } & Record<string, unknown>): string {
  // alg first, as tokens have always been laid out (a credential handed out again is the same bytes).
  const head = { alg: JWS_ALG, ...header }
  head.alg = JWS_ALG
  const input = `${b64Json(head)}.${b64Json(payload)}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

export interface JwsHeader extends Record<string, unknown> {
  alg: typeof JWS_ALG
}

/** A token split and decoded, its shape checked, its signature not yet: trust nothing in it but for finding the key. */
export interface DecodedJws {
  header: JwsHeader
  /** The claims as sent: each caller checks the types of those it reads. */
  claims: Record<string, unknown>
  signingInput: string
  signature: Buffer
}

export interface JwsShape {
  /** The `typ` the header must carry, which keeps one kind of token from passing for another. */
  typ: string
  /** Longer than any token of this kind; refused before parsing. */
  maxLength: number
}

const BASE64URL = /^[A-Za-z0-9_-]+$/
const ED25519_SIGNATURE_BYTES = 64

/**
 * A compact JWS of jit's: three base64url parts, header and claims JSON objects, alg EdDSA, the
 * typ expected, and no `crit` (jit understands no extension, so any named one is refused, as RFC
 * 7515 asks; `b64: false` needs it). undefined when any of that fails. Never throws.
 */
export function decodeJws(token: unknown, shape: JwsShape): DecodedJws | undefined {
  if (typeof token !== 'string' || token.length > shape.maxLength) return undefined
  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return undefined
  const header = jsonObject(parts[0])
  const claims = jsonObject(parts[1])
  if (!header || !claims) return undefined
  if (header.alg !== JWS_ALG || header.typ !== shape.typ || 'crit' in header || 'b64' in header) return undefined
  const signature = Buffer.from(parts[2], 'base64url')
  if (signature.length !== ED25519_SIGNATURE_BYTES) return undefined
  return { header: header as JwsHeader, claims, signingInput: `${parts[0]}.${parts[1]}`, signature }
}

/** Whether `key` (an Ed25519 public key, imported once by the caller and kept) signed the token. */
export function signatureHolds(jws: DecodedJws, key: KeyObject): boolean {
  if (key.asymmetricKeyType !== 'ed25519') return false
  try {
    return verify(null, Buffer.from(jws.signingInput), key, jws.signature)
  } catch {
    return false
  }
}

function jsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString())
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function b64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
