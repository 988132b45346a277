// jit audit --since: a duration back from now or an ISO time filters the trail; anything else is
// refused with exit 2 before the broker is asked, instead of listing everything or nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, jit, startBroker, type TestBroker } from './harness.js'

let broker: TestBroker
let alice: string
const ask = (reason: string) => jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '5m', '--reason', reason, '--json'], { home: alice })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const audit = async (...args: string[]) => (await jit(['audit', ...args, '--json'], { home: alice })).json().events as { at: string; requestId?: string }[]

beforeAll(async () => {
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, alice)
})

describe('jit audit --since', () => {
  it('an ISO time and a duration each keep only the events since then', async () => {
    const first = (await ask('first')).json().request.id as string
    await sleep(1100)
    const between = new Date().toISOString()
    await sleep(50)
    const second = (await ask('second')).json().request.id as string

    const all = await audit('--since', '1h')
    expect(all.some((e) => e.requestId === first)).toBe(true)
    expect(all.some((e) => e.requestId === second)).toBe(true)

    const recent = await audit('--since', between)
    expect(recent.length).toBeGreaterThan(0)
    expect(recent.some((e) => e.requestId === first)).toBe(false)
    expect(recent.some((e) => e.requestId === second)).toBe(true)
    expect(recent.every((e) => e.at >= between)).toBe(true)

    expect(await audit('--since', '2099-01-01')).toEqual([])
    await sleep(2500)
    expect(await audit('--since', '1s')).toEqual([])
  })

  it('anything else exits 2 and says what it takes', async () => {
    for (const since of ['yesterday', '2026-13-45', '1 hour']) {
      const result = await jit(['audit', '--since', since, '--json'], { home: alice })
      expect(result.code, since).toBe(2)
      expect(result.json().error.message).toBe(`--since "${since}" is neither a duration nor an ISO time.`)
    }
  })
})
