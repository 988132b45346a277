// The broker's SSH certificate authority key: Ed25519, created on first start beside the token
// signing key in the data folder (0600). Rotation overlaps on both sides, so that no host that
// refreshes its files in time ever refuses a valid certificate: a next key is published first
// (hosts learn to trust it) and signs only once activated; the previous key then stays published
// (ca.pub, the KRL) until the last certificate it signed has expired.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ed25519Blob, fingerprint, publicKeyLine } from '../../util/ssh-wire.js'

export interface SshCaKey {
  privateKey: KeyObject
  /** The SSH public key blob (ssh-ed25519). */
  publicBlob: Buffer
  /** SHA256:... as ssh-keygen -l prints it; stored with every certificate the key signs. */
  fingerprint: string
  /** The TrustedUserCAKeys line. */
  publicLine: string
}

export const CA_KEY_FILE = 'ssh-ca-key.pem'
export const PREVIOUS_CA_KEY_FILE = 'ssh-ca-key.previous.pem'
export const NEXT_CA_KEY_FILE = 'ssh-ca-key.next.pem'

export function loadOrCreateSshCaKey(dataDir: string): SshCaKey {
  const path = join(dataDir, CA_KEY_FILE)
  if (!existsSync(path)) writeNewKey(path)
  return readKey(path)
}

/** The key rotated out, if any: its public half stays published while its certificates live. */
export function loadPreviousSshCaKey(dataDir: string): SshCaKey | undefined {
  const path = join(dataDir, PREVIOUS_CA_KEY_FILE)
  return existsSync(path) ? readKey(path) : undefined
}

/** The key announced for the next rotation, if any: published, not yet signing. */
export function loadNextSshCaKey(dataDir: string): SshCaKey | undefined {
  const path = join(dataDir, NEXT_CA_KEY_FILE)
  return existsSync(path) ? readKey(path) : undefined
}

/** Makes the next key (published from now on, signing nothing yet); the one already announced if there is one. */
export function prepareNextSshCaKey(dataDir: string): SshCaKey {
  const path = join(dataDir, NEXT_CA_KEY_FILE)
  if (!existsSync(path)) writeNewKey(path)
  return readKey(path)
}

/** The next key signs from now on; the current one becomes the previous one (an older previous one is dropped). */
export function activateNextSshCaKey(dataDir: string): { current: SshCaKey; previous: SshCaKey } {
  const path = join(dataDir, CA_KEY_FILE)
  const previousPath = join(dataDir, PREVIOUS_CA_KEY_FILE)
  renameSync(path, previousPath)
  renameSync(join(dataDir, NEXT_CA_KEY_FILE), path)
  return { current: readKey(path), previous: readKey(previousPath) }
}

function writeNewKey(path: string): void {
  const { privateKey } = generateKeyPairSync('ed25519')
  writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' })
}

function readKey(path: string): SshCaKey {
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  const privateKey = createPrivateKey(readFileSync(path))
  const publicBlob = ed25519Blob(privateKey)
  const print = fingerprint(publicBlob)
  return { privateKey, publicBlob, fingerprint: print, publicLine: publicKeyLine(publicBlob, `jit-ssh-ca ${print}`) }
}
