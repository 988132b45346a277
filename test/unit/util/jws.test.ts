// The one compact-JWS check every jit token goes through (src/util/jws.ts): what it refuses
// before any key is looked at, and that only the Ed25519 key that signed passes.
import { createHmac, generateKeyPairSync, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decodeJws, signatureHolds, signJwt } from '../../../src/util/jws.js'

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const shape = { typ: 'jit-test+jwt', maxLength: 2048 }
const claims = { sub: 'tess', n: 1 }

/** A token with any header at all, signed by Ed25519 over its input (a valid signature, whatever the header claims). */
function forged(header: unknown, body: unknown = claims, key = privateKey): string {
  const input = `${b64(header)}.${b64(body)}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

describe('compact JWS', () => {
  it('a token it made decodes, and only its signer\'s key verifies it', () => {
    const token = signJwt(claims, privateKey, { typ: shape.typ, kid: 'k1' })
    const jws = decodeJws(token, shape)!
    expect(jws.header).toEqual({ alg: 'EdDSA', typ: shape.typ, kid: 'k1' })
    expect(jws.claims).toEqual(claims)
    expect(signatureHolds(jws, publicKey)).toBe(true)
    expect(signatureHolds(jws, generateKeyPairSync('ed25519').publicKey)).toBe(false)
    // The header's alg is the signer's, whatever the caller put in it.
    expect(decodeJws(signJwt(claims, privateKey, { typ: shape.typ, alg: 'none' }), shape)!.header.alg).toBe('EdDSA')
  })

  it('refuses alg none, HMAC and every other alg, even over a valid Ed25519 signature', () => {
    for (const alg of ['none', 'None', 'HS256', 'RS256', 'ES256', 'Ed25519', '', undefined, null, 1]) {
      expect(decodeJws(forged({ alg, typ: shape.typ }), shape), String(alg)).toBeUndefined()
    }
    // The classic confusion: HS256 keyed with the public key's bytes.
    const input = `${b64({ alg: 'HS256', typ: shape.typ })}.${b64(claims)}`
    const hmac = createHmac('sha256', publicKey.export({ format: 'der', type: 'spki' })).update(input).digest('base64url')
    expect(decodeJws(`${input}.${hmac}`, shape)).toBeUndefined()
    // alg none with an empty signature, as an attacker sends it.
    expect(decodeJws(`${b64({ alg: 'none', typ: shape.typ })}.${b64(claims)}.`, shape)).toBeUndefined()
  })

  it('refuses another typ, a critical extension, an unencoded payload', () => {
    expect(decodeJws(forged({ alg: 'EdDSA', typ: 'JWT' }), shape)).toBeUndefined()
    expect(decodeJws(forged({ alg: 'EdDSA' }), shape)).toBeUndefined()
    expect(decodeJws(forged({ alg: 'EdDSA', typ: shape.typ, crit: ['exp'], exp: 1 }), shape)).toBeUndefined()
    expect(decodeJws(forged({ alg: 'EdDSA', typ: shape.typ, crit: [] }), shape)).toBeUndefined()
    expect(decodeJws(forged({ alg: 'EdDSA', typ: shape.typ, b64: false }), shape)).toBeUndefined()
    expect(decodeJws(forged({ alg: 'EdDSA', typ: shape.typ }), shape)).toBeDefined()
  })

  it('refuses anything malformed without throwing', () => {
    const good = forged({ alg: 'EdDSA', typ: shape.typ })
    const [head, body, sig] = good.split('.')
    const garbage: unknown[] = [
      undefined, null, 42, {}, ['a', 'b', 'c'], '', '..', 'a.b', 'a.b.c.d', `${good}.`, `${head}.${body}`,
      `${head}.${body}.${sig}x`.replace(/.$/, '*'), // not base64url
      `${head} .${body}.${sig}`, `${head}.${body}.${sig.slice(0, 40)}`, // a signature of the wrong length
      `${b64('[1,2]')}.${body}.${sig}`, `${b64('null')}.${body}.${sig}`, `${head}.${b64('"text"')}.${sig}`, `${head}.${b64('{bad json')}.${sig}`,
      `${head}.${b64({ pad: 'x'.repeat(2048) })}.${sig}`, // over the bound
    ]
    for (const token of garbage) expect(() => decodeJws(token, shape)).not.toThrow()
    for (const token of garbage) expect(decodeJws(token, shape), String(token).slice(0, 60)).toBeUndefined()
  })

  it('a changed header or claims breaks the signature; a key of another type never verifies', () => {
    const token = signJwt(claims, privateKey, { typ: shape.typ, kid: 'k1' })
    const [head, , sig] = token.split('.')
    const widened = decodeJws(`${head}.${b64({ ...claims, n: 2 })}.${sig}`, shape)!
    expect(signatureHolds(widened, publicKey)).toBe(false)
    const rekeyed = decodeJws(`${b64({ alg: 'EdDSA', typ: shape.typ, kid: 'k2' })}.${token.split('.')[1]}.${sig}`, shape)!
    expect(signatureHolds(rekeyed, publicKey)).toBe(false)
    const jws = decodeJws(token, shape)!
    expect(signatureHolds(jws, generateKeyPairSync('x25519').publicKey)).toBe(false)
    expect(signatureHolds(jws, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toBe(false)
  })
})
