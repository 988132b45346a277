import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CredentialCache } from '../../../../src/cli/keychain/credential-cache.js'
import { MemoryKeychain } from '../../../../src/cli/keychain/keychain.js'
import { sessionIndexPath } from '../../../../src/cli/keychain/session-index.js'
import { KeychainError } from '../../../../src/errors.js'
import type { Clock } from '../../../../src/util/clock.js'
import type { Grant } from '../../../../src/wire/api.js'

/** Wall clock and time since boot moving together, as on a laptop whose clock is right. */
function clockAt(time: { ms: number }): Clock {
  return { wallMs: () => time.ms, bootMs: () => time.ms, bootId: () => 'boot-1' }
}

const grant = (id: string, expiresIn: number): Grant => ({
  credential: `token-${id}`,
  expiresIn,
  session: { id, requestId: 'req_1', user: 'tess', deviceId: 'dev_1', asset: 'plant-a/line-3/cell-2/plc-07', ticket: 'WO-104233', scope: 'diagnose', kind: 'standard', issuedAt: '', expiresAt: '', state: 'active', cacheAllowed: true },
})

// The session index lives beside the config: a folder of the test's own.
let home: string
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'jit-cache-'))
  process.env.JIT_HOME = home
})
afterEach(() => {
  delete process.env.JIT_HOME
  rmSync(home, { recursive: true, force: true })
})

// Expiry against the broker's expiresIn and the two clocks is in cache-clock.test.ts.
describe('credential cache', () => {
  it('listing deletes every expired entry and returns only live ones of this device', async () => {
    const time = { ms: 0 }
    const keychain = new MemoryKeychain()
    const cache = new CredentialCache(keychain, 'dev_1', clockAt(time))
    const other = new CredentialCache(keychain, 'dev_2', clockAt(time))
    await cache.put(grant('ses_short', 10))
    await cache.put(grant('ses_long', 3600))
    await other.put(grant('ses_other', 3600))
    time.ms = 20_000
    expect((await cache.list()).map((e) => e.sessionId)).toEqual(['ses_long'])
    expect(keychain.accounts().sort()).toEqual(['cred:dev_1:ses_long', 'cred:dev_2:ses_other'])
  })

  it('a corrupt entry is treated as gone', async () => {
    const keychain = new MemoryKeychain()
    await keychain.set('cred:dev_1:ses_bad', 'not json')
    const cache = new CredentialCache(keychain, 'dev_1')
    expect(await cache.get('ses_bad')).toBeUndefined()
    expect(await keychain.get('cred:dev_1:ses_bad')).toBeNull()
  })

  it('lists from the index without reading the keychain, and never shows a credential', async () => {
    const keychain = new MemoryKeychain()
    const cache = new CredentialCache(keychain, 'dev_1')
    await cache.put(grant('ses_a', 3600))
    const reads: string[] = []
    const get = keychain.get.bind(keychain)
    keychain.get = async (account) => (reads.push(account), get(account))
    const listed = await cache.list()
    expect(listed.map((e) => e.sessionId)).toEqual(['ses_a'])
    expect(reads).toEqual([])
    expect(JSON.stringify(listed)).not.toContain('token-ses_a')
    expect(readFileSync(sessionIndexPath(), 'utf8')).not.toContain('token-')
  })

  it('an ended session whose item the keychain could not delete is purged on the next read, never handed out', async () => {
    const keychain = new MemoryKeychain()
    const cache = new CredentialCache(keychain, 'dev_1')
    await cache.put(grant('ses_left', 3600))
    await cache.put(grant('ses_other', 3600))
    const del = keychain.delete.bind(keychain)
    keychain.delete = async () => {
      throw new KeychainError('The OS keychain is locked (delete)')
    }
    await expect(cache.delete('ses_left')).rejects.toThrow(/locked/)
    keychain.delete = del // unlocked again
    expect(keychain.accounts()).toContain('cred:dev_1:ses_left')
    expect(await cache.get('ses_left')).toBeUndefined()
    expect(keychain.accounts()).toEqual(['cred:dev_1:ses_other'])

    // The same through a listing, and once expired.
    const time = { ms: 0 }
    const timed = new CredentialCache(keychain, 'dev_1', clockAt(time))
    await timed.put(grant('ses_short', 60))
    time.ms = 61_000
    expect((await timed.list()).map((e) => e.sessionId)).toEqual(['ses_other'])
    expect(keychain.accounts()).toEqual(['cred:dev_1:ses_other'])
  })

  it('a failed store leaves nothing in the index', async () => {
    const keychain = new MemoryKeychain()
    keychain.set = async () => {
      throw new KeychainError('The OS keychain is locked (write)')
    }
    const cache = new CredentialCache(keychain, 'dev_1')
    await expect(cache.put(grant('ses_x', 60))).rejects.toThrow(/locked/)
    expect(await cache.list()).toEqual([])
  })
})
