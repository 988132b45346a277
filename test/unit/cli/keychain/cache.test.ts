import { describe, expect, it } from 'vitest'
import { CredentialCache } from '../../../../src/cli/keychain/credential-cache.js'
import { MemoryKeychain } from '../../../../src/cli/keychain/keychain.js'
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
