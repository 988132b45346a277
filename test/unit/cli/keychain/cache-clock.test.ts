// The cache's sense of time: the broker's expiresIn counted on the wall clock and on time since
// boot; whichever runs out first ends the entry, so a wall clock set back keeps nothing alive.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CredentialCache, EXPIRY_MARGIN_MS } from '../../../../src/cli/keychain/credential-cache.js'
import { MemoryKeychain } from '../../../../src/cli/keychain/keychain.js'
import type { Clock } from '../../../../src/util/clock.js'
import type { Grant } from '../../../../src/wire/api.js'

function fakeClock(wall: number, boot: number, id = 'boot-1') {
  const clock = { wall, boot, id }
  const api: Clock = { wallMs: () => clock.wall, bootMs: () => clock.boot, bootId: () => clock.id }
  return { clock, api }
}

const grant = (expiresIn: number): Grant => ({
  session: { id: 'ses_1', requestId: 'req_1', user: 'alice', deviceId: 'dev_1', asset: 'plant-a/l/c/a', ticket: 'WO-1', scope: 'read', kind: 'standard', issuedAt: '', expiresAt: '2001-01-01T00:00:00Z', state: 'active', cacheAllowed: true },
  credential: 'a.b.c',
  expiresIn,
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

describe('credential cache expiry', () => {
  it('uses the broker\'s expiresIn, not the expiresAt the laptop would compare with its own clock', async () => {
    const { api } = fakeClock(1_000_000, 50_000)
    const cache = new CredentialCache(new MemoryKeychain(), 'dev_1', api)
    await cache.put(grant(600)) // expiresAt in the grant is long past; expiresIn says 10 minutes left
    expect((await cache.get('ses_1'))?.credential).toBe('a.b.c')
  })

  it('is gone a margin before the broker\'s expiry, and deleted from the keychain when read', async () => {
    const { clock, api } = fakeClock(1_000_000, 50_000)
    const keychain = new MemoryKeychain()
    const cache = new CredentialCache(keychain, 'dev_1', api)
    await cache.put(grant(600))
    clock.wall += 600_000 - EXPIRY_MARGIN_MS - 1
    clock.boot += 600_000 - EXPIRY_MARGIN_MS - 1
    expect(await cache.get('ses_1')).toBeDefined()
    clock.wall += 1
    clock.boot += 1
    expect(await cache.get('ses_1')).toBeUndefined()
    expect(keychain.accounts()).toEqual([])
  })

  it('a wall clock set back cannot keep an entry alive: time since boot still runs', async () => {
    const { clock, api } = fakeClock(1_000_000, 50_000)
    const cache = new CredentialCache(new MemoryKeychain(), 'dev_1', api)
    await cache.put(grant(600))
    clock.boot += 601_000
    clock.wall -= 3_600_000 // someone turned the clock back an hour
    expect(await cache.list()).toEqual([])
  })

  it('a wall clock set forward ends it too; after a reboot only the wall clock counts', async () => {
    const forward = fakeClock(1_000_000, 50_000)
    const a = new CredentialCache(new MemoryKeychain(), 'dev_1', forward.api)
    await a.put(grant(600))
    forward.clock.wall += 601_000
    expect(await a.get('ses_1')).toBeUndefined()

    const reboot = fakeClock(1_000_000, 50_000)
    const b = new CredentialCache(new MemoryKeychain(), 'dev_1', reboot.api)
    await b.put(grant(600))
    Object.assign(reboot.clock, { id: 'boot-2', boot: 1_000, wall: reboot.clock.wall + 60_000 })
    expect(await b.get('ses_1')).toBeDefined()
    reboot.clock.wall += 600_000
    expect(await b.get('ses_1')).toBeUndefined()
  })
})
