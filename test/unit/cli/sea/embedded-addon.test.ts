// The single executable's loader for its embedded native file: hash checks before loading, and a
// private folder for the copy. Run against the real keychain binding's file.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadVerifiedAddon, privateAddonDir, sha256 } from '../../../../src/cli/sea/embedded-addon.js'
import { KeychainError } from '../../../../src/errors.js'

const require = createRequire(import.meta.url)
const bindingDir = dirname(require.resolve('@napi-rs/keyring-linux-x64-gnu/package.json'))
const native = readFileSync(join(bindingDir, 'keyring.linux-x64-gnu.node'))
const expected = sha256(native)
const made: string[] = []
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-addon-'))
  made.push(dir)
  return dir
}

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('loadVerifiedAddon', () => {
  it('loads the binding from a copy named for its hash', () => {
    const dir = privateAddonDir(scratch())
    const binding = loadVerifiedAddon('keyring.node', native, expected, dir) as { AsyncEntry: unknown }
    expect(typeof binding.AsyncEntry).toBe('function')
    expect(readdirSync(dir)).toEqual([`${expected}-keyring.node`])
  })

  it('refuses bytes that do not hash to the recorded value, and writes nothing', () => {
    const dir = privateAddonDir(scratch())
    const altered = Buffer.from(native)
    altered[altered.length >> 1] ^= 1
    expect(() => loadVerifiedAddon('keyring.node', altered, expected, dir)).toThrow(KeychainError)
    expect(() => loadVerifiedAddon('keyring.node', altered, expected, dir)).toThrow(/has changed since it was built \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/)
    expect(readdirSync(dir)).toEqual([])
  })

  it('writes a stale copy again before loading it', () => {
    const dir = privateAddonDir(scratch())
    writeFileSync(join(dir, `${expected}-keyring.node`), 'something else')
    loadVerifiedAddon('keyring.node', native, expected, dir)
    expect(sha256(readFileSync(join(dir, `${expected}-keyring.node`)))).toBe(expected)
  })
})

describe.runIf(process.platform !== 'win32')('privateAddonDir', () => {
  it('makes the folder 0700', () => {
    const dir = privateAddonDir(scratch())
    expect(readdirSync(dirname(dir))).toContain(`jit-native-${process.getuid!()}`)
  })

  it('refuses a folder others can write', () => {
    const base = scratch()
    const dir = join(base, `jit-native-${process.getuid!()}`)
    mkdirSync(dir)
    chmodSync(dir, 0o777)
    expect(() => privateAddonDir(base)).toThrow(/is not a private folder of this user/)
  })

  it('refuses a link in its place', () => {
    const base = scratch()
    const elsewhere = scratch()
    chmodSync(elsewhere, 0o700)
    symlinkSync(elsewhere, join(base, `jit-native-${process.getuid!()}`))
    expect(() => privateAddonDir(base)).toThrow(/is not a private folder of this user/)
  })
})
