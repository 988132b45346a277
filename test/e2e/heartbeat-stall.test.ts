// The broker itself stalls (SIGSTOP, as a paused VM does) for twice the heartbeat grace while
// wrapped sessions run and keep beating. Once it runs again, it must not revoke them for the
// silence it could not hear: the reaper notices its own stall and gives every session a full
// grace, in which the live ones are heard again.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { sessionRow, waitFor } from './revocation-helpers.js'

const GRACE_SECONDS = 2
const SESSIONS = 3
let broker: TestBroker
let ivan: string
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  broker = await startBroker({ args: ['--heartbeat-grace', `${GRACE_SECONDS}s`] })
  ivan = await broker.enroll('ivan', ['technician'])
})

afterAll(async () => {
  broker.process.kill('SIGCONT')
  await broker.stop()
  cleanup(broker.dataDir, ivan)
})

describe('a stalled broker', () => {
  it(`SIGSTOPped for twice the grace (${GRACE_SECONDS * 2}s): no live, heartbeating session is revoked`, async () => {
    const out = tempDir()
    const script = (i: number) => `printf %s "$JIT_SESSION_ID" > ${out}/sid${i}; while [ ! -e ${out}/go ]; do sleep 0.05; done; exit 0`
    const running = Array.from({ length: SESSIONS }, (_, i) => jit(['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--json', '--', 'sh', '-c', script(i)], { home: ivan }))
    const ids = await waitFor('every command running', () => {
      try {
        return Array.from({ length: SESSIONS }, (_, i) => readFileSync(join(out, `sid${i}`), 'utf8')).filter((s) => s.length > 0).length === SESSIONS && Array.from({ length: SESSIONS }, (_, i) => readFileSync(join(out, `sid${i}`), 'utf8'))
      } catch {
        return false
      }
    }, 60_000)
    await sleep(GRACE_SECONDS * 1000 + 500) // past the broker's start-up grace, beating all along

    broker.process.kill('SIGSTOP')
    await sleep(GRACE_SECONDS * 2000)
    broker.process.kill('SIGCONT')
    // Long enough for a wrong reaper to act on every sweep, and for the right one to have heard the beats again.
    await sleep(GRACE_SECONDS * 1000 + 2000)
    for (const id of ids) expect(sessionRow(broker, id).state, `session ${id}: ${sessionRow(broker, id).end_reason}`).toBe('active')
    expect(broker.log()).toMatch(/the broker itself stalled for \d+s: every wrapped session gets a full heartbeat grace/)

    writeFileSync(join(out, 'go'), '1')
    for (const r of await Promise.all(running)) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.json()).toMatchObject({ revoked: true })
    }
    for (const id of ids) expect(sessionRow(broker, id)).toMatchObject({ state: 'revoked', ended_by: 'ivan', end_reason: 'command ended (exit 0)' })
    cleanup(out)
  }, 90_000)
})
