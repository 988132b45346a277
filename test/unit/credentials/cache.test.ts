import { describe, expect, it } from 'vitest'
import { CredentialCache, EXPIRY_MARGIN_MS } from '../../../src/credentials/cache.js'
import { MemoryKeychain } from '../../../src/keychain/keychain.js'
import type { Grant } from '../../../src/wire/api.js'

const grant = (id: string, expiresIn: number): Grant => ({
  credential: `token-${id}`,
  expiresIn,
  session: { id, requestId: 'req_1', user: 'tess', deviceId: 'dev_1', asset: 'plant-a/line-3/cell-2/plc-07', ticket: 'WO-104233', scope: 'diagnose', kind: 'standard', issuedAt: '', expiresAt: '', state: 'active', cacheAllowed: true },
})

describe('credential cache', () => {
  it('expiry comes from the broker\'s expiresIn minus a margin, not from the wall clock of exp', async () => {
    let now = 1_000_000
    const cache = new CredentialCache(new MemoryKeychain(), 'dev_1', () => now)
    const entry = await cache.put(grant('ses_a', 60))
    expect(entry.expiresAtMs).toBe(1_000_000 + 60_000 - EXPIRY_MARGIN_MS)
    now += 60_000 - EXPIRY_MARGIN_MS - 1
    expect((await cache.get('ses_a'))?.credential).toBe('token-ses_a')
  })

  it('an expired entry is deleted when read, and never returned', async () => {
    let now = 0
    const keychain = new MemoryKeychain()
    const cache = new CredentialCache(keychain, 'dev_1', () => now)
    await cache.put(grant('ses_a', 10))
    now = 10_000
    expect(await cache.get('ses_a')).toBeUndefined()
    expect(await keychain.list('cred:')).toEqual([])
  })

  it('listing deletes every expired entry and returns only live ones of this device', async () => {
    let now = 0
    const keychain = new MemoryKeychain()
    const cache = new CredentialCache(keychain, 'dev_1', () => now)
    const other = new CredentialCache(keychain, 'dev_2', () => now)
    await cache.put(grant('ses_short', 10))
    await cache.put(grant('ses_long', 3600))
    await other.put(grant('ses_other', 3600))
    now = 20_000
    expect((await cache.list()).map((e) => e.session.id)).toEqual(['ses_long'])
    expect((await keychain.list('cred:')).map((e) => e.account).sort()).toEqual(['cred:dev_1:ses_long', 'cred:dev_2:ses_other'])
  })

  it('a corrupt entry is treated as gone', async () => {
    const keychain = new MemoryKeychain()
    await keychain.set('cred:dev_1:ses_bad', 'not json')
    const cache = new CredentialCache(keychain, 'dev_1')
    expect(await cache.get('ses_bad')).toBeUndefined()
    expect(await keychain.get('cred:dev_1:ses_bad')).toBeNull()
  })
})
