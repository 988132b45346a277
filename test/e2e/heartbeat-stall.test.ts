// The broker itself stalls (SIGSTOP, as a paused VM does) for twice the heartbeat grace while
// wrapped sessions run and keep beating. Once it runs again, it must not revoke them for the
// silence it could not hear: the reaper notices its own stall and gives every session a full
// grace, in which the live ones are heard again. And its wall clock is stepped 75 s forward
// (libfaketime, the broker only): silence is counted on the monotonic clock, so nothing changes.
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, jit, startBroker, tempDir, type CliResult, type TestBroker } from './harness.js'
import { sessionRow, waitFor } from './revocation-helpers.js'

const GRACE_SECONDS = 2
const SESSIONS = 3
let broker: TestBroker
let ivan: string
let clockDir: string
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Sets the broker's clock offset whole (temp file + rename): libfaketime never reads half a file. */
function setOffset(offset: string): void {
  writeFileSync(join(clockDir, 'offset.tmp'), offset)
  renameSync(join(clockDir, 'offset.tmp'), join(clockDir, 'offset'))
}

/** libfaketime for this machine's architecture (Debian: /usr/lib/<triplet>/faketime). */
function libfaketime(): string {
  const found = readdirSync('/usr/lib').map((d) => `/usr/lib/${d}/faketime/libfaketime.so.1`).find((p) => existsSync(p))
  if (!found) throw new Error('libfaketime is missing: sh scripts/test-deps.sh installs it (package faketime).')
  return found
}

beforeAll(async () => {
  clockDir = tempDir('jit-clock-')
  setOffset('+0')
  // The broker's wall clock follows the offset in this file (re-read every second); its
  // monotonic clock is left alone.
  const env = { LD_PRELOAD: libfaketime(), FAKETIME_TIMESTAMP_FILE: join(clockDir, 'offset'), FAKETIME_CACHE_DURATION: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1', NO_FAKE_STAT: '1' }
  broker = await startBroker({ args: ['--heartbeat-grace', `${GRACE_SECONDS}s`], env })
  ivan = await broker.enroll('ivan', ['technician'])
})

afterAll(async () => {
  broker.process.kill('SIGCONT')
  await broker.stop()
  cleanup(broker.dataDir, ivan, clockDir)
})

/** Starts SESSIONS wrapped commands that run until the file `go` appears; returns their session ids. */
async function startSessions(out: string): Promise<{ ids: string[]; running: Promise<CliResult>[] }> {
  const script = (i: number) => `printf %s "$JIT_SESSION_ID" > ${out}/sid${i}; while [ ! -e ${out}/go ]; do sleep 0.05; done; exit 0`
  const running = Array.from({ length: SESSIONS }, (_, i) => jit(['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--json', '--', 'sh', '-c', script(i)], { home: ivan }))
  const sid = (i: number) => (existsSync(join(out, `sid${i}`)) ? readFileSync(join(out, `sid${i}`), 'utf8') : '')
  const ids = await waitFor('every command running', () => {
    const all = Array.from({ length: SESSIONS }, (_, i) => sid(i))
    return all.every((s) => s.length > 0) && all
  }, 60_000)
  return { ids, running }
}

async function endSessions(out: string, ids: string[], running: Promise<CliResult>[]): Promise<void> {
  writeFileSync(join(out, 'go'), '1')
  for (const r of await Promise.all(running)) {
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({ revoked: true })
  }
  for (const id of ids) expect(await sessionRow(broker, id)).toMatchObject({ state: 'revoked', ended_by: 'ivan', end_reason: 'command ended (exit 0)' })
}

describe('a broker that stalls, or whose wall clock steps', () => {
  it(`SIGSTOPped for twice the grace (${GRACE_SECONDS * 2}s): no live, heartbeating session is revoked`, async () => {
    const out = tempDir()
    const { ids, running } = await startSessions(out)
    await sleep(GRACE_SECONDS * 1000 + 500) // past the broker's start-up grace, beating all along

    broker.process.kill('SIGSTOP')
    await sleep(GRACE_SECONDS * 2000)
    broker.process.kill('SIGCONT')
    // Long enough for a wrong reaper to act on every sweep, and for the right one to have heard the beats again.
    await sleep(GRACE_SECONDS * 1000 + 2000)
    for (const id of ids) expect((await sessionRow(broker, id)).state, `session ${id}: ${(await sessionRow(broker, id)).end_reason}`).toBe('active')
    expect(broker.log()).toMatch(/the broker itself stalled for \d+s: every wrapped session gets a full heartbeat grace/)
    await endSessions(out, ids, running)
    cleanup(out)
  }, 90_000)

  it('its wall clock stepped 75 s forward: no live, heartbeating session is revoked', async () => {
    const out = tempDir()
    const { ids, running } = await startSessions(out)
    await sleep(GRACE_SECONDS * 1000 + 500)

    setOffset('+75s')
    await sleep(GRACE_SECONDS * 1000 + 3000) // the step is seen within a second; then more than a grace
    const { time } = (await (await fetch(`${broker.url}/healthz`)).json()) as { time: string }
    expect(Date.parse(time) - Date.now()).toBeGreaterThan(70_000) // the step did happen
    for (const id of ids) expect((await sessionRow(broker, id)).state, `session ${id}: ${(await sessionRow(broker, id)).end_reason}`).toBe('active')
    await endSessions(out, ids, running)
    setOffset('+0')
    cleanup(out)
  }, 90_000)
})
