// Proof that the one who presents a credential holds the device key its `cnf.jkt` names: the
// device signs a verifier-issued challenge together with the credential's id, the asset and the
// verifier's name, so a copied token alone, or a proof made for another gateway, opens nothing.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'

export interface Ed25519PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
}

/** RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 public JWK. */
export function jwkThumbprint(jwk: Ed25519PublicJwk): string {
  return createHash('sha256').update(`{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}"}`).digest('base64url')
}

/** What the device signs: every field the proof is bound to, one per line. */
export function tunnelProofInput(fields: { nonce: string; jti: string; asset: string; gateway: string }): Buffer {
  return Buffer.from(['jit-tunnel-proof/1', fields.gateway, fields.nonce, fields.jti, fields.asset].join('\n'))
}

export function signTunnelProof(privateKey: KeyObject, fields: { nonce: string; jti: string; asset: string; gateway: string }): string {
  return sign(null, tunnelProofInput(fields), privateKey).toString('base64url')
}

/** True only when the key is an Ed25519 key whose thumbprint is `jkt` and the signature over the fields holds. */
export function verifyTunnelProof(
  jwk: unknown,
  proof: unknown,
  expected: { jkt: string; nonce: string; jti: string; asset: string; gateway: string },
): boolean {
  if (!isEd25519Jwk(jwk) || typeof proof !== 'string' || proof.length > 200) return false
  if (jwkThumbprint(jwk) !== expected.jkt) return false
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
    return verify(null, tunnelProofInput(expected), key, Buffer.from(proof, 'base64url'))
  } catch {
    return false
  }
}

function isEd25519Jwk(value: unknown): value is Ed25519PublicJwk {
  const jwk = value as Partial<Ed25519PublicJwk> | null
  return typeof jwk === 'object' && jwk !== null && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jwk.x)
}
