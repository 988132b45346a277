// The credential cache against the real Secret Service: an expired entry is purged the moment
// the cache is read or listed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CredentialCache } from '../../src/cli/keychain/credential-cache.js'
import { SystemKeychain } from '../../src/cli/keychain/keychain.js'
import type { Grant } from '../../src/wire/api.js'
import { keychainHas } from './harness.js'

const grant = (id: string, expiresIn: number): Grant => ({
  credential: `token-${id}`,
  expiresIn,
  session: { id, requestId: 'req_1', user: 'tess', deviceId: 'dev_kc', asset: 'plant-a/line-3/cell-2/plc-07', ticket: 'WO-104233', scope: 'diagnose', kind: 'standard', issuedAt: '', expiresAt: '', state: 'active', cacheAllowed: true },
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

describe('credential cache in the OS keychain', () => {
  it('stores with expiry, purges expired entries on list and on read', async () => {
    const device = `dev_kc${process.pid}`
    const time = { ms: Date.now() }
    const clock = { wallMs: () => time.ms, bootMs: () => time.ms, bootId: () => 'boot-1' }
    const cache = new CredentialCache(new SystemKeychain(), device, clock)
    await cache.put(grant('ses_live', 3600))
    await cache.put(grant('ses_dying', 10))
    const held = async () => ({ live: await keychainHas(`cred:${device}:ses_live`), dying: await keychainHas(`cred:${device}:ses_dying`) })
    expect(await held()).toEqual({ live: true, dying: true })

    time.ms += 60_000
    expect((await cache.list()).map((e) => e.sessionId)).toEqual(['ses_live'])
    expect(await held()).toEqual({ live: true, dying: false })

    time.ms += 3600_000
    expect(await cache.get('ses_live')).toBeUndefined()
    expect(await held()).toEqual({ live: false, dying: false })
  })
})
