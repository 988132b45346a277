// Proof of possession of a credential's device key (src/wire/proof-of-possession.ts), pure: only
// the key cnf.jkt names, over exactly the challenge, verifier, credential (hash, jti), asset and
// time it was made for; anything malformed is refused with a reason, never thrown.
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { jwkThumbprint, signPossessionProof, verifyPossessionProof } from '../../../src/wire/proof-of-possession.js'

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const { x } = publicKey.export({ format: 'jwk' }) as { x: string }
  return { privateKey, jwk: { kty: 'OKP' as const, crv: 'Ed25519' as const, x } }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
/** The proof with its header replaced (the signature is left as it was). */
const withHead = (proof: string, head: unknown) => [b64(head), ...proof.split('.').slice(1)].join('.')

const holder = pair()
const now = 1_800_000_000
const binding = { challenge: 'n'.repeat(32), verifier: 'gw-line-3', token: 'header.claims.signature', jti: 'jti_1', asset: 'plant-a/line-3/cell-2/plc-07' }
const expected = { ...binding, jkt: await jwkThumbprint(holder.jwk), nowEpoch: now }
const sign = (key: KeyObject, overrides: Partial<typeof binding & { nowEpoch: number }> = {}) => signPossessionProof(key, { ...binding, nowEpoch: now, ...overrides })

describe('proof of possession', () => {
  it('the thumbprint is RFC 7638\'s: the published example key gives the published thumbprint', async () => {
    // RFC 8037, appendix A.3: the Ed25519 example key and its RFC 7638 thumbprint.
    const example = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }
    expect(await jwkThumbprint(example)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
  })

  it('verifies for the holder of the key over the same binding, within the clock window', async () => {
    const proof = sign(holder.privateKey)
    expect(await verifyPossessionProof(proof, expected)).toEqual({ ok: true })
    expect(await verifyPossessionProof(proof, { ...expected, nowEpoch: now + 59 })).toEqual({ ok: true })
    expect(await verifyPossessionProof(proof, { ...expected, nowEpoch: now - 59 })).toEqual({ ok: true })
  })

  it('does not verify for anything it was not made for', async () => {
    const proof = sign(holder.privateKey)
    const refusals: Array<[Partial<typeof expected>, RegExp]> = [
      [{ challenge: 'm'.repeat(32) }, /another challenge/],
      [{ verifier: 'gw-other' }, /another verifier/],
      [{ token: 'other.token.x' }, /another credential/],
      [{ jti: 'jti_2' }, /another credential/],
      [{ asset: 'plant-a/line-3/cell-2/hmi-01' }, /another asset/],
      [{ nowEpoch: now + 120 }, /too old/],
      [{ nowEpoch: now - 120 }, /clock is wrong/],
    ]
    for (const [changed, reason] of refusals) expect(await verifyPossessionProof(proof, { ...expected, ...changed })).toEqual({ ok: false, reason: expect.stringMatching(reason) })
  })

  it('another key\'s proof does not verify, with its own key named or with the holder\'s', async () => {
    const thief = pair()
    // A stolen token, proven with the thief's key: the thumbprint is not the credential's.
    const theirs = sign(thief.privateKey)
    expect(await verifyPossessionProof(theirs, expected)).toEqual({ ok: false, reason: expect.stringMatching(/key other than/) })
    // The holder's public key named in the header, without its private half: the signature fails.
    const swapped = withHead(theirs, { alg: 'EdDSA', typ: 'jit-pop+jwt', jwk: holder.jwk })
    expect(await verifyPossessionProof(swapped, expected)).toEqual({ ok: false, reason: expect.stringMatching(/signature/) })
  })

  it('malformed proofs and keys are refused, not thrown', async () => {
    const proof = sign(holder.privateKey)
    const [, body] = proof.split('.')
    for (const garbage of [undefined, null, 42, ['a', 'b'], '', 'a.b', 'a.b.c', '!!!', 'A'.repeat(5000), `${proof.split('.')[0]}.x.y`, `${b64(null)}.${body}.AAAA`, `${b64({})}.${b64(null)}.AAAA`]) {
      expect(await verifyPossessionProof(garbage, expected)).toEqual({ ok: false, reason: expect.stringMatching(/malformed/) })
    }
    const heads = [
      { alg: 'none', typ: 'jit-pop+jwt', jwk: holder.jwk },
      { alg: 'EdDSA', typ: 'JWT', jwk: holder.jwk },
      { alg: 'EdDSA', typ: 'jit-pop+jwt' },
      { alg: 'EdDSA', typ: 'jit-pop+jwt', jwk: null },
      { alg: 'EdDSA', typ: 'jit-pop+jwt', jwk: 'x' },
      { alg: 'EdDSA', typ: 'jit-pop+jwt', jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } },
      { alg: 'EdDSA', typ: 'jit-pop+jwt', jwk: { ...holder.jwk, x: 'short' } },
      { alg: 'EdDSA', typ: 'jit-pop+jwt', jwk: { ...holder.jwk, crv: 'X25519' } },
      { alg: 'EdDSA', typ: 'jit-pop+jwt', jwk: { ...holder.jwk, d: 'A'.repeat(43) } },
    ]
    for (const head of heads) expect(await verifyPossessionProof(withHead(proof, head), expected)).toEqual({ ok: false, reason: expect.stringMatching(/malformed/) })
  })
})
