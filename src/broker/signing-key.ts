// The broker's Ed25519 signing key: created on first start, kept in the data folder with 0600
// permissions, published (public half only) as a JWKS.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { JWK } from 'jose'
import { makePrivateFolder } from '../util/private-folder.js'
import { jwkThumbprint, type Ed25519PublicJwk } from '../wire/proof-of-possession.js'

export interface SigningKey {
  kid: string
  privateKey: KeyObject
  publicJwk: JWK
}

const FILE = 'signing-key.pem'

/** The data folder's signing key, if it has one (never creates it). */
export async function readSigningKey(dataDir: string): Promise<SigningKey | undefined> {
  if (!existsSync(join(dataDir, FILE))) return undefined
  return loadOrCreateSigningKey(dataDir)
}

export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const path = join(dataDir, FILE)
  if (!existsSync(path)) {
    // A first start: the key is made before the store, which made the folder when it came first.
    makePrivateFolder(dataDir)
    const { privateKey } = generateKeyPairSync('ed25519')
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' })
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  const privateKey = createPrivateKey(readFileSync(path))
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  const kid = await jwkThumbprint(jwk as Ed25519PublicJwk)
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } }
}
