// The broker's public signing key as the auditor knows it from elsewhere, for `jit audit verify
// --file`: --key (one key, as a JWK or a PEM file) or --jwks (the key set the broker publishes at
// /.well-known/jwks.json, saved). Only Ed25519 keys sign audit checkpoints.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { calculateJwkThumbprint } from 'jose'
import type { PinnedKey } from '../../audit/export.js'
import { UsageError } from '../../errors.js'

export async function pinnedKeys(options: { key?: string; jwks?: string }): Promise<PinnedKey[] | undefined> {
  if (options.key !== undefined) return [await pinned(parseKey(read(options.key), options.key), options.key)]
  if (options.jwks === undefined) return undefined
  let keys: unknown
  try {
    keys = (JSON.parse(read(options.jwks)) as { keys?: unknown }).keys
  } catch {
    throw new UsageError(`${options.jwks} is not a JSON key set ({"keys": [...]}).`)
  }
  if (!Array.isArray(keys)) throw new UsageError(`${options.jwks} is not a JSON key set ({"keys": [...]}).`)
  const ed25519 = keys.filter((jwk) => (jwk as { crv?: unknown })?.crv === 'Ed25519')
  if (ed25519.length === 0) throw new UsageError(`${options.jwks} holds no Ed25519 key; the broker signs audit checkpoints with one.`)
  return Promise.all(ed25519.map((jwk) => pinned(fromJwk(jwk, options.jwks!), options.jwks!)))
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    throw new UsageError(`Cannot read ${file}.`)
  }
}

/** A PEM public key, or one JWK. */
function parseKey(text: string, file: string): KeyObject {
  if (text.includes('-----BEGIN')) {
    if (text.includes('PRIVATE KEY')) throw new UsageError(`${file} holds a private key; give the broker's public key.`)
    try {
      return createPublicKey(text)
    } catch {
      throw new UsageError(`${file} is not a PEM public key.`)
    }
  }
  let jwk: unknown
  try {
    jwk = JSON.parse(text)
  } catch {
    throw new UsageError(`${file} is neither a PEM public key nor a JWK.`)
  }
  return fromJwk(jwk, file)
}

function fromJwk(jwk: unknown, file: string): KeyObject {
  const { kty, crv, x, d } = (jwk ?? {}) as { kty?: unknown; crv?: unknown; x?: unknown; d?: unknown }
  if (d !== undefined) throw new UsageError(`${file} holds a private key; give the broker's public key.`)
  if (kty !== 'OKP' || crv !== 'Ed25519' || typeof x !== 'string') throw new UsageError(`${file} does not hold an Ed25519 public key (JWK kty OKP, crv Ed25519).`)
  try {
    return createPublicKey({ key: { kty, crv, x }, format: 'jwk' })
  } catch {
    throw new UsageError(`${file} does not hold an Ed25519 public key.`)
  }
}

async function pinned(publicKey: KeyObject, file: string): Promise<PinnedKey> {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new UsageError(`${file} is a ${publicKey.asymmetricKeyType} key; the broker signs audit checkpoints with Ed25519.`)
  const { kty, crv, x } = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string }
  // The kid as the broker computes it: the key's JWK thumbprint.
  return { kid: await calculateJwkThumbprint({ kty, crv, x }), publicKey, x }
}
