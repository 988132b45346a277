// A rule with `cache: false` (vendors) is never granted to a plain `jit request`: the broker
// refuses it before recording or opening anything, and names the commands that hold the
// credential in memory. `jit exec` still gets it, and nothing lands in the keychain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, keychainHas, startBroker, type TestBroker } from './harness.js'
import { deviceIdOf } from './revocation-helpers.js'

let broker: TestBroker
let vic: string
let bob: string
const PANEL = 'plant-a/line-3/cell-2/hmi-02'
const access = ['--ticket', 'WO-104233', '--asset', PANEL, '--scope', 'diagnose', '--ttl', '10m']

beforeAll(async () => {
  broker = await startBroker()
  await broker.addAsset(PANEL, { state: 'running', vendors: ['acme-automation'] })
  vic = await broker.enroll('vic', ['vendor'], 'acme-automation')
  bob = await broker.enroll('bob', ['shift-lead'])
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, vic, bob)
})

function counts(): Promise<{ requests: number; sessions: number }> {
  return broker.withStore(async (store) => {
    const count = async (table: string) => Number((await store.query(`SELECT count(*) AS n FROM ${table}`))[0].n)
    return { requests: await count('requests'), sessions: await count('sessions') }
  })
}

describe('vendor under cache: false', () => {
  it('a plain jit request is refused before anything opens, pointing to exec / shell / connect', async () => {
    const before = (await counts())
    const refused = await jit(['request', ...access, '--reason', 'firmware check', '--no-wait', '--json'], { home: vic })
    expect(refused.code).toBe(3)
    const error = refused.json().error
    expect(error.code).toBe('policy-denied')
    expect(error.message).toContain('use jit exec / jit shell / jit connect')
    expect(error.reasons).toEqual(['rule vendor-diagnose forbids caching the credential on the device'])
    expect((await counts())).toEqual(before)

    const human = await jit(['request', ...access, '--reason', 'firmware check'], { home: vic })
    expect(human.code).toBe(3)
    expect(human.stderr).toMatch(/use jit exec \/ jit shell \/ jit connect/)
    expect(human.stderr).not.toMatch(/jit credential/)
    expect((await counts())).toEqual(before)
  })

  it('jit exec gets the credential in memory once approved; the keychain never holds it', async () => {
    const running = jit(['exec', ...access, '--reason', 'firmware check', '--', 'sh', '-c', 'echo "token-length=${#JIT_TOKEN}"'], { home: vic })
    let pending: { id: string }[] = []
    for (let i = 0; i < 50 && pending.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200))
      pending = (await jit(['requests', '--pending', '--json'], { home: bob })).json().requests
    }
    expect(pending).toHaveLength(1)
    expect((await jit(['approve', pending[0].id], { home: bob })).code).toBe(0)
    const result = await running
    expect(result.code).toBe(0)
    expect(Number(result.stdout.match(/token-length=(\d+)/)![1])).toBeGreaterThan(100)
    const sessions = await broker.withStore((store) => store.sessions.list({ user: 'vic', activeOnly: false }, Date.now() / 1000))
    expect(sessions).toHaveLength(1)
    expect(sessions[0]).toMatchObject({ cacheAllowed: false, state: 'revoked', scope: 'diagnose' })
    expect(await keychainHas(`cred:${deviceIdOf(vic)}:${sessions[0].id}`)).toBe(false)
  })
})
