// Twelve wrapped sessions end at the same moment while the broker is down: every one of them is
// in the revocation journal (the journal is changed under a lock shared by the jit processes), and
// when the broker is back each is revoked exactly once, from the journal, even with several jit
// processes draining at once. `jit revoke ID` with the broker down journals its id too.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { auditOf, sessionRow, waitFor } from './revocation-helpers.js'

const SESSIONS = 12
let broker: TestBroker
let dataDir: string
let port = 0
let gina: string
const access = ['--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m']

async function start(): Promise<void> {
  broker = await startBroker({ dataDir, port })
  port = Number(new URL(broker.url).port)
}

beforeAll(async () => {
  dataDir = tempDir('jit-broker-')
  await start()
  gina = await broker.enroll('gina', ['technician'])
})

afterAll(async () => {
  await broker.stop()
  cleanup(dataDir, gina)
})

const journalIds = () => (existsSync(join(gina, 'revocation-journal.json')) ? JSON.parse(readFileSync(join(gina, 'revocation-journal.json'), 'utf8')).map((e: { sessionId: string }) => e.sessionId) : [])

describe('the revocation journal under concurrency', () => {
  it(`${SESSIONS} sessions ending at once with the broker down: ${SESSIONS} entries, each revoked exactly once later`, async () => {
    const out = tempDir()
    // Every command blocks opening the same FIFO; one writer opening it releases all of them at
    // the same instant, so the twelve jit processes journal their revocations at once.
    execFileSync('mkfifo', [join(out, 'go')])
    const script = (i: number) => `printf %s "$JIT_SESSION_ID" > ${out}/sid${i}; cat ${out}/go >/dev/null; exit 0`
    const running = Array.from({ length: SESSIONS }, (_, i) => jit(['exec', ...access, '--json', '--', 'sh', '-c', script(i)], { home: gina }))
    const ids = await waitFor('every command running', () => {
      const sids = Array.from({ length: SESSIONS }, (_, i) => join(out, `sid${i}`)).filter((f) => existsSync(f) && readFileSync(f, 'utf8').length > 0)
      return sids.length === SESSIONS && sids.map((f) => readFileSync(f, 'utf8'))
    }, 60_000)

    await broker.stop()
    writeFileSync(join(out, 'go'), '')
    const results = await Promise.all(running)
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.json()).toMatchObject({ revoked: false, revocationPending: true })
    }
    expect(journalIds().sort()).toEqual([...ids].sort())

    await start()
    // Three jit runs at once drain the journal: the drain lock lets one send, the others skip.
    const drains = await Promise.all([jit(['revoke', '--pending', '--json'], { home: gina }), jit(['sessions', '--json'], { home: gina }), jit(['sessions', '--json'], { home: gina })])
    for (const d of drains) expect(d.code, d.stderr).toBe(0)
    expect(journalIds()).toEqual([])
    for (const id of ids) {
      expect(await sessionRow(broker, id)).toMatchObject({ state: 'revoked', ended_by: 'gina' })
      expect((await sessionRow(broker, id)).end_reason).toMatch(/confirmed from the revocation journal/)
      expect((await auditOf(broker, id)).filter((e) => e.type === 'session.revoked')).toHaveLength(1)
    }
    cleanup(out)
  }, 120_000)

  it('jit revoke ID with the broker down queues the id, says so, exits 5; the next run revokes it', async () => {
    const out = tempDir()
    const opened = await jit(['request', ...access, '--reason', 'read the fault log', '--json'], { home: gina })
    expect(opened.code, opened.stderr).toBe(0)
    const id = opened.json().session.id as string

    await broker.stop()
    const revoke = await jit(['revoke', id, '--json'], { home: gina })
    expect(revoke.code).toBe(5)
    expect(revoke.json().error).toMatchObject({ code: 'broker-unreachable', queued: [id] })
    expect(revoke.json().error.message).toMatch(new RegExp(`revocation of ${id} is queued`))
    expect(journalIds()).toEqual([id])

    await start()
    const next = await jit(['sessions', '--json'], { home: gina })
    expect(next.code, next.stderr).toBe(0)
    expect(next.stderr).toMatch(new RegExp(`Revoked ${id}, which was queued`))
    expect(await sessionRow(broker, id)).toMatchObject({ state: 'revoked', ended_by: 'gina' })
    expect(journalIds()).toEqual([])
    cleanup(out)
  }, 60_000)
})
