// The broker key an auditor pins for `jit audit verify --file`: the same key read from a PEM file,
// a JWK or a key set gives the broker's kid (its JWK thumbprint); a private key or a key of
// another kind is refused as bad input.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import { pinnedKeys } from '../../../../src/cli/audit/pinned-key.js'
import { UsageError } from '../../../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'jit-pinned-'))
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text)
  return join(dir, name)
}
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('pinnedKeys', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string }

  it('reads one key as PEM or JWK, and every Ed25519 key of a key set, each with the broker\'s kid', async () => {
    const kid = await calculateJwkThumbprint(jwk)
    const fromPem = await pinnedKeys({ key: file('key.pem', publicKey.export({ format: 'pem', type: 'spki' }) as string) })
    const fromJwk = await pinnedKeys({ key: file('key.jwk', JSON.stringify({ ...jwk, kid, alg: 'EdDSA', use: 'sig' })) })
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as { x: string }
    const fromSet = await pinnedKeys({ jwks: file('jwks.json', JSON.stringify({ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }, jwk, { ...jwk, x: other.x }] })) })
    expect(fromPem).toEqual([{ kid, publicKey: expect.anything(), x: jwk.x }])
    expect(fromJwk).toEqual(fromPem)
    expect(fromSet!.map((key) => key.x)).toEqual([jwk.x, other.x])
    expect(await pinnedKeys({})).toBeUndefined()
  })

  it('refuses a private key, a key of another kind and a file that holds no key, as bad input', async () => {
    const refusals = [
      { key: file('private.pem', privateKey.export({ format: 'pem', type: 'pkcs8' }) as string), message: /private key/ },
      { key: file('private.jwk', JSON.stringify(privateKey.export({ format: 'jwk' }))), message: /private key/ },
      { key: file('rsa.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }) as string), message: /rsa key/ },
      { key: file('nothing', 'hello'), message: /neither a PEM public key nor a JWK/ },
      { jwks: file('empty.json', JSON.stringify({ keys: [] })), message: /no Ed25519 key/ },
      { key: join(dir, 'missing'), message: /Cannot read/ },
    ]
    for (const { message, ...options } of refusals) {
      const refused = await pinnedKeys(options).then(() => undefined, (error: unknown) => error)
      expect(refused, String(message)).toBeInstanceOf(UsageError)
      expect((refused as UsageError).message).toMatch(message)
    }
  })
})
