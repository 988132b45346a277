// Proof of possession of a credential's device key (src/wire/possession.ts), pure.
import { generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { describe, expect, it } from 'vitest'
import { jwkThumbprint, signPossession, verifyPossession } from '../../../src/wire/possession.js'

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const { x } = publicKey.export({ format: 'jwk' }) as { x: string }
  return { privateKey, jwk: { kty: 'OKP' as const, crv: 'Ed25519' as const, x } }
}

describe('proof of possession', () => {
  const holder = pair()
  const token = 'header.claims.signature'
  const challenge = 'n'.repeat(32)
  const now = 1_800_000_000
  const expected = { token, jkt: jwkThumbprint(holder.jwk), challenge, audience: 'gateway-3', nowEpoch: now }

  it('the thumbprint is RFC 7638\'s, as enrollment computes it', async () => {
    expect(jwkThumbprint(holder.jwk)).toBe(await calculateJwkThumbprint(holder.jwk))
  })

  it('verifies for the holder of the key, and for nothing else', () => {
    const proof = signPossession(holder.privateKey, { token, challenge, audience: 'gateway-3', nowEpoch: now })
    expect(verifyPossession(proof, expected)).toEqual({ ok: true })
    expect(verifyPossession(signPossession(pair().privateKey, { token, challenge, audience: 'gateway-3', nowEpoch: now }), expected)).toMatchObject({ ok: false, reason: expect.stringMatching(/key other than/) })
    expect(verifyPossession(proof, { ...expected, token: 'other.token.x' })).toMatchObject({ ok: false, reason: expect.stringMatching(/another credential/) })
    expect(verifyPossession(proof, { ...expected, challenge: 'm'.repeat(32) })).toMatchObject({ ok: false, reason: expect.stringMatching(/another challenge/) })
    expect(verifyPossession(proof, { ...expected, audience: 'gateway-4' })).toMatchObject({ ok: false, reason: expect.stringMatching(/another verifier/) })
    expect(verifyPossession(proof, { ...expected, nowEpoch: now + 120 })).toMatchObject({ ok: false, reason: expect.stringMatching(/too old/) })
  })

  it('a proof whose key was swapped after signing, or that is garbage, does not verify', () => {
    const proof = signPossession(pair().privateKey, { token, challenge, audience: 'gateway-3', nowEpoch: now })
    const [, body, sig] = proof.split('.')
    const head = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'jit-pop+jwt', jwk: holder.jwk })).toString('base64url')
    expect(verifyPossession(`${head}.${body}.${sig}`, expected)).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) })
    for (const garbage of ['', 'a.b', 'a.b.c', `${head}.x.y`]) expect(verifyPossession(garbage, expected).ok).toBe(false)
  })
})
