// The broker's signing key on a first start: made, with its folder, before the store opens.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadOrCreateSigningKey, readSigningKey } from '../../../src/broker/signing-key.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('the signing key', () => {
  it('is made in a data folder that does not exist yet, the folder and the key readable by the broker only', async () => {
    const home = mkdtempSync(join(tmpdir(), 'jit-key-'))
    dirs.push(home)
    const dataDir = join(home, 'new', 'data')
    const made = await loadOrCreateSigningKey(dataDir)
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dataDir, 'signing-key.pem')).mode & 0o777).toBe(0o600)
    expect((await readSigningKey(dataDir))?.kid).toBe(made.kid)
  })
})
