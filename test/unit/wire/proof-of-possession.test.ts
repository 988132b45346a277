// Proof of possession for tunnels: only the key named by cnf.jkt, over exactly the challenge, the
// credential id, the asset and the gateway it was made for.
import { generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { describe, expect, it } from 'vitest'
import { jwkThumbprint, signTunnelProof, verifyTunnelProof } from '../../../src/wire/proof-of-possession.js'

const device = generateKeyPairSync('ed25519')
const jwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: (device.publicKey.export({ format: 'jwk' }) as { x: string }).x }
const fields = { nonce: 'n0nce', jti: 'jti_1', asset: 'plant-a/line-3/cell-2/plc-07', gateway: 'gw-line-3' }

describe('tunnel proof of possession', () => {
  it('the thumbprint is RFC 7638 (the one the broker puts in cnf.jkt at enrollment)', async () => {
    expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk))
  })

  it('holds for the device key over the same fields, and for nothing else', () => {
    const proof = signTunnelProof(device.privateKey, fields)
    const jkt = jwkThumbprint(jwk)
    expect(verifyTunnelProof(jwk, proof, { ...fields, jkt })).toBe(true)
    for (const changed of [{ nonce: 'other' }, { jti: 'jti_2' }, { asset: 'plant-a/line-3/cell-2/hmi-01' }, { gateway: 'gw-other' }]) {
      expect(verifyTunnelProof(jwk, proof, { ...fields, ...changed, jkt })).toBe(false)
    }
    const other = generateKeyPairSync('ed25519')
    const otherJwk = { ...jwk, x: (other.publicKey.export({ format: 'jwk' }) as { x: string }).x }
    // Another key's proof with its own JWK: the thumbprint is not the credential's.
    expect(verifyTunnelProof(otherJwk, signTunnelProof(other.privateKey, fields), { ...fields, jkt })).toBe(false)
    // Another key's proof presented with the right JWK: the signature does not hold.
    expect(verifyTunnelProof(jwk, signTunnelProof(other.privateKey, fields), { ...fields, jkt })).toBe(false)
  })

  it('malformed keys and proofs are refused, not thrown', () => {
    const jkt = jwkThumbprint(jwk)
    for (const bad of [null, 'x', { kty: 'RSA' }, { ...jwk, x: 'short' }, { ...jwk, crv: 'X25519' }]) expect(verifyTunnelProof(bad, 'AAAA', { ...fields, jkt })).toBe(false)
    for (const bad of [undefined, 42, 'A'.repeat(500), '!!!']) expect(verifyTunnelProof(jwk, bad, { ...fields, jkt })).toBe(false)
  })
})
