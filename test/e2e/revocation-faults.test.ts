// Faults around a live session: the broker dies mid-session (the revocation waits in the journal
// and the next jit run delivers it), jit itself is SIGKILLed (the broker's dead-man's switch
// revokes after the grace period), and a broker restart neither loses nor resurrects sessions.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { auditOf, sessionRow, waitFor, waitForFile } from './revocation-helpers.js'

const GRACE_SECONDS = 2
let broker: TestBroker
let dataDir: string
let port: number
let alice: string
let verifierToken: string
const access = ['--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m']
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function start(): Promise<void> {
  broker = await startBroker({ dataDir, port, args: ['--heartbeat-grace', `${GRACE_SECONDS}s`] })
  port = Number(new URL(broker.url).port)
}

beforeAll(async () => {
  dataDir = tempDir('jit-broker-')
  port = 0
  await start()
  alice = await broker.enroll('alice', ['technician'])
  verifierToken = await broker.addVerifier('gateway-line-3')
})

afterAll(async () => {
  await broker.stop()
  cleanup(dataDir, alice)
})

describe('the broker is unreachable when the command ends', () => {
  it('the session id (never the credential) is journaled, shown loudly, and revoked by the next jit run', async () => {
    const out = tempDir()
    const script = `printf %s "$JIT_SESSION_ID" > ${out}/sid; printf %s "$JIT_TOKEN" > ${out}/token; while [ ! -e ${out}/go ]; do sleep 0.05; done; exit 0`
    const running = jit(['exec', ...access, '--', 'sh', '-c', script], { home: alice })
    const token = await waitForFile(join(out, 'token'))
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)

    broker.process.kill('SIGKILL') // a crash, not a clean stop
    await broker.stop()
    writeFileSync(join(out, 'go'), '1')
    const result = await running
    expect(result.code).toBe(0) // the command's own code: it ran and succeeded
    expect(result.stderr).toMatch(new RegExp(`revocation of ${sid} is queued`))

    const journal = readFileSync(join(alice, 'revocation-journal.json'), 'utf8')
    expect(JSON.parse(journal)).toEqual([expect.objectContaining({ sessionId: sid, reason: 'command ended (exit 0)' })])
    expect(journal).not.toContain(token)
    expect(journal).not.toContain(token.split('.')[2])

    // While the broker is away, jit sessions says so loudly, and revoke --pending fails with exit 5.
    const listing = await jit(['sessions'], { home: alice })
    expect(listing.code).toBe(5)
    expect(listing.stderr).toMatch(new RegExp(`REVOCATION PENDING: ${sid}`))
    const retry = await jit(['revoke', '--pending', '--json'], { home: alice })
    expect(retry.code).toBe(5)
    expect(retry.json().error.pending.map((e: { sessionId: string }) => e.sessionId)).toEqual([sid])

    await start()
    // The broker never heard of the end: the credential still works until the journal is delivered.
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    const next = await jit(['sessions', '--json'], { home: alice })
    expect(next.code).toBe(0)
    expect(next.stderr).toMatch(new RegExp(`Revoked ${sid}, which was queued`))
    expect(next.json().pendingRevocations).toEqual([])
    expect(next.json().sessions.map((s: { id: string }) => s.id)).not.toContain(sid)
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', ended_by: 'alice' })
    expect((await sessionRow(broker, sid)).end_reason).toMatch(/command ended \(exit 0\); confirmed from the revocation journal/)
    expect(existsSync(join(alice, 'revocation-journal.json'))).toBe(false)
    cleanup(out)
  })
})

describe('heartbeat dead-man\'s switch', () => {
  it('heartbeats keep a long-running command\'s session alive well past the grace period', async () => {
    const out = tempDir()
    const script = `printf %s "$JIT_TOKEN" > ${out}/token; printf %s "$JIT_SESSION_ID" > ${out}/sid; sleep ${GRACE_SECONDS * 3}`
    const running = jit(['exec', ...access, '--', 'sh', '-c', script], { home: alice })
    const token = await waitForFile(join(out, 'token'))
    await sleep(GRACE_SECONDS * 2000 + 1500)
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    expect((await running).code).toBe(0)
    expect((await sessionRow(broker, readFileSync(join(out, 'sid'), 'utf8')))).toMatchObject({ state: 'revoked', ended_by: 'alice' })
    cleanup(out)
  })

  it('jit killed with SIGKILL: the broker revokes within the grace period and records why', async () => {
    const out = tempDir()
    const script = `echo $$ > ${out}/pid; printf %s "$JIT_SESSION_ID" > ${out}/sid; printf %s "$JIT_TOKEN" > ${out}/token; exec sleep 60 </dev/null >/dev/null 2>&1`
    let jitProcess: import('node:child_process').ChildProcess | undefined
    const running = jit(['exec', ...access, '--', 'sh', '-c', script], { home: alice, onSpawn: (child) => (jitProcess = child) })
    const token = await waitForFile(join(out, 'token'))
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    const commandPid = Number(await waitForFile(join(out, 'pid')))
    try {
      expect((await introspect(broker, token, verifierToken)).active).toBe(true)
      const killedAt = Date.now()
      jitProcess!.kill('SIGKILL')
      expect((await running).signal).toBe('SIGKILL')
      // The command outlives jit and still holds the token; only the broker can end it now.
      await waitFor('the broker to revoke', async () => !(await introspect(broker, token, verifierToken)).active, 10_000, 100)
      const elapsed = Date.now() - killedAt
      // Last beat ≤ one interval before the kill; the sweeper runs every second.
      expect(elapsed).toBeLessThan(GRACE_SECONDS * 1000 + 2500)
      expect(elapsed).toBeGreaterThan(GRACE_SECONDS * 1000 - 1000)
      const row = await sessionRow(broker, sid)
      expect(row).toMatchObject({ state: 'revoked', ended_by: 'broker' })
      expect(row.end_reason).toMatch(/^heartbeat lost: no heartbeat from device dev_\S+ for \d+s \(grace 2s\)$/)
      const revoked = (await auditOf(broker, sid)).find((e) => e.type === 'session.revoked')!
      expect(revoked).toMatchObject({ actor: 'broker', severity: 'high', data: { cause: 'heartbeat-lost', graceSeconds: GRACE_SECONDS } })
    } finally {
      try {
        process.kill(commandPid, 'SIGKILL')
      } catch {
        // already gone
      }
      cleanup(out)
    }
  })
})

describe('a broker restart neither loses nor resurrects sessions', () => {
  it('revoked stays revoked, live keeps its expiry, and a wrapped session outlives broker downtime longer than the grace', async () => {
    // Revoked before the restart.
    const dead = await jit(['request', ...access, '--reason', 'r', '--json'], { home: alice })
    const deadId = dead.json().session.id as string
    const deadToken = (await jit(['credential', deadId, '--format', 'raw'], { home: alice })).stdout.trim()
    expect((await jit(['revoke', deadId], { home: alice })).code).toBe(0)
    // Live (not wrapped, so no heartbeat) across the restart.
    const live = await jit(['request', ...access, '--reason', 'r', '--json'], { home: alice })
    const liveId = live.json().session.id as string
    const liveToken = (await jit(['credential', liveId, '--format', 'raw'], { home: alice })).stdout.trim()
    const liveExpiry = (await sessionRow(broker, liveId)).expires_at
    // Wrapped, heartbeating, across the restart.
    const out = tempDir()
    const script = `printf %s "$JIT_TOKEN" > ${out}/token; printf %s "$JIT_SESSION_ID" > ${out}/sid; while [ ! -e ${out}/go ]; do sleep 0.05; done`
    const running = jit(['exec', ...access, '--', 'sh', '-c', script], { home: alice })
    const wrappedToken = await waitForFile(join(out, 'token'))

    await broker.stop()
    await sleep(GRACE_SECONDS * 1000 + 1500) // down for longer than the grace
    await start()
    await sleep(GRACE_SECONDS * 1000 + 1500) // and up for longer than it, so the reaper has had its chance

    expect((await introspect(broker, deadToken, verifierToken)).active).toBe(false)
    expect((await sessionRow(broker, deadId)).state).toBe('revoked')
    expect((await introspect(broker, liveToken, verifierToken)).active).toBe(true)
    expect((await sessionRow(broker, liveId)).expires_at).toBe(liveExpiry)
    expect((await introspect(broker, wrappedToken, verifierToken)).active).toBe(true)

    writeFileSync(join(out, 'go'), '1')
    expect((await running).code).toBe(0)
    expect((await introspect(broker, wrappedToken, verifierToken)).active).toBe(false)
    expect((await sessionRow(broker, readFileSync(join(out, 'sid'), 'utf8')))).toMatchObject({ state: 'revoked', ended_by: 'alice' })
    expect((await jit(['revoke', liveId], { home: alice })).code).toBe(0)
    cleanup(out)
  })
})
