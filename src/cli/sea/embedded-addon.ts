// Loads a native addon carried inside the single executable (an SEA asset). A shared library can
// only be loaded from a file, so the asset is copied to a private folder and loaded from there,
// but only after the copy on disk hashes to the SHA-256 recorded at build time: an executable
// whose embedded file was altered, or a copy swapped in the temp folder, is refused, never loaded.
// (The executable's own signature, from signtool or codesign, is what covers the recorded hash.)
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeychainError } from '../../errors.js'

const REINSTALL = 'Download the jit executable again and check it against its SHA-256 (SHA256SUMS); the file on this machine is not the one that was built.'

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * The folder the copies live in: one per user, made here with 0700 and refused when it is a link,
 * someone else's, or open to others. On Windows the temp folder is under the user's profile,
 * whose ACL already keeps other users out.
 */
export function privateAddonDir(base = tmpdir()): string {
  const uid = process.getuid?.()
  const dir = join(base, uid === undefined ? 'jit-native' : `jit-native-${uid}`)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (uid === undefined) return dir
  const stat = lstatSync(dir)
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw new KeychainError(`Refusing to load the keychain binding: ${dir} is not a private folder of this user (a link, another owner, or open to others).`, [
      `Remove ${dir} (jit makes it again, private), or point TMPDIR at a folder only you can write.`,
    ], { keychain: 'binding-refused' })
  }
  return dir
}

/** Writes the copy (atomically) unless an identical one is there already; returns its path. */
function placeCopy(dir: string, name: string, expected: string, bytes: Uint8Array): string {
  const path = join(dir, `${expected}-${name}`)
  if (existsSync(path) && sha256(readFileSync(path)) === expected) return path
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, bytes, { mode: 0o700 })
  renameSync(tmp, path)
  return path
}

/**
 * Checks `bytes` (the embedded file) and then the copy on disk against `expected`, and loads the
 * copy. Either check failing is a KeychainError that says which file and both hashes.
 */
export function loadVerifiedAddon(name: string, bytes: Uint8Array, expected: string, dir = privateAddonDir()): unknown {
  const embedded = sha256(bytes)
  if (embedded !== expected) {
    throw new KeychainError(`Refusing to load the keychain binding: the native file embedded in this executable (${name}) has changed since it was built (SHA-256 ${embedded}, expected ${expected}).`, [REINSTALL], {
      keychain: 'binding-refused',
    })
  }
  const path = placeCopy(dir, name, expected, bytes)
  // Hashed again right before loading: the copy is what the loader maps, not the bytes above.
  const onDisk = sha256(readFileSync(path))
  if (onDisk !== expected) {
    throw new KeychainError(`Refusing to load the keychain binding: its copy at ${path} changed after it was written (SHA-256 ${onDisk}, expected ${expected}).`, [
      `Remove ${path} and run the command again; if it happens again, something on this machine is rewriting files in ${dir}.`,
    ], { keychain: 'binding-refused' })
  }
  const module = { exports: {} as unknown }
  process.dlopen(module, path)
  return module.exports
}

/** The keychain binding inside this executable: the SEA asset and its build-time hash. */
export function loadEmbeddedKeyring(expected: string): unknown {
  // Called only inside a single executable, which always has node:sea.
  const sea = process.getBuiltinModule('node:sea') as typeof import('node:sea')
  return loadVerifiedAddon('keyring.node', new Uint8Array(sea.getRawAsset('keyring.node') as ArrayBuffer), expected)
}
