// The anchored audit chain end to end: a real broker, the real CLI, SQLite on disk. Deleting the
// newest records (and putting the high-water mark and stored checkpoints back in line) is found
// by `jit audit verify` from the checkpoint it kept on its last run; a broken chain exits 10.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { ON_POSTGRES, SQLITE_ONLY } from './test-store.js'

let broker: TestBroker
let admin: string
let tess: string
const access = ['--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'r']

beforeAll(async () => {
  broker = await startBroker()
  admin = await broker.enroll('ada', ['admin'])
  tess = await broker.enroll('tess', ['technician'])
  for (let i = 0; i < 3; i++) expect((await jit(['request', ...access, '--json'], { home: tess })).code).toBe(0)
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, admin, tess)
})

/** The insider's edit: the newest records gone, and everything inside the database put back in line. */
function truncateTail(dataDir: string, keep: number): void {
  const db = new DatabaseSync(join(dataDir, 'broker.db'))
  db.exec(`DELETE FROM audit WHERE seq > ${keep}; UPDATE audit_high_water SET seq = ${keep}; DELETE FROM audit_checkpoints`)
  db.close()
}

describe('jit audit verify through the broker', () => {
  it('is for admin and security only', async () => {
    const refused = await jit(['audit', 'verify', '--json'], { home: tess })
    expect(refused.code).toBe(3)
    expect(refused.json().error.message).toMatch(/admin and security/)
    expect((await jit(['audit', 'export', '--format', 'jsonl', '--json'], { home: tess })).code).toBe(3)
  })

  it('keeps a checkpoint from its run; after the newest records are deleted the next run exits 10', async ({ skip }) => {
    skip(ON_POSTGRES, SQLITE_ONLY)
    const first = await jit(['audit', 'verify', '--json'], { home: admin })
    expect(first.code, first.stdout + first.stderr).toBe(0)
    const verified = first.json()
    expect(verified).toMatchObject({ ok: true, checkpoint: expect.any(String) })
    expect(existsSync(join(admin, 'audit-checkpoints.json'))).toBe(true)
    // A SIEM copy, verified on its own.
    const file = join(admin, 'audit.jsonl')
    const exported = await jit(['audit', 'export', '--format', 'jsonl', '--output', file, '--json'], { home: admin })
    expect(exported.code, exported.stdout + exported.stderr).toBe(0)
    expect(readFileSync(file, 'utf8')).toMatch(/"record":"checkpoint"/)
    const offline = await jit(['audit', 'verify', '--file', file, '--json'], { home: admin })
    expect(offline.code).toBe(0)
    expect(offline.json()).toMatchObject({ ok: true, anchoredAt: { seq: verified.head.seq } })

    const port = Number(new URL(broker.url).port)
    await broker.stop()
    truncateTail(broker.dataDir, verified.head.seq - 2)
    broker = await startBroker({ dataDir: broker.dataDir, port })
    const second = await jit(['audit', 'verify', '--json'], { home: admin })
    expect(second.code, second.stdout + second.stderr).toBe(10)
    // (The restarted broker has appended a record since, numbered past the mark the insider reset.)
    expect(second.json().error).toMatchObject({ code: 'audit-chain-broken', firstBad: { problem: expect.stringContaining(`covers record ${verified.head.seq}: the newest records were deleted`) } })
  })
})

describe('checkpoints for verifiers', () => {
  it('a verifier (and any enrolled device) can fetch the newest signed checkpoint to keep; an unknown token cannot', async () => {
    const token = await broker.addVerifier('gateway-anchor')
    // The broker was just restarted: its sweeper signs the head within a second or so.
    let checkpoint: { seq: number; jws: string } | undefined
    for (let i = 0; i < 50 && !checkpoint; i++) {
      const answer = await fetch(`${broker.url}/v1/audit/checkpoints/latest`, { headers: { authorization: `Bearer ${token}` } })
      expect(answer.status).toBe(200)
      checkpoint = ((await answer.json()) as { checkpoint?: { seq: number; jws: string } }).checkpoint
      if (!checkpoint) await new Promise((r) => setTimeout(r, 200))
    }
    if (!checkpoint) throw new Error(`no checkpoint signed: ${broker.log()}`)
    expect(checkpoint.seq).toBeGreaterThan(0)
    expect(checkpoint.jws.split('.')).toHaveLength(3)
    expect((await fetch(`${broker.url}/v1/audit/checkpoints/latest`, { headers: { authorization: 'Bearer jitv_nope' } })).status).toBe(401)
  })
})

describe('jit audit verify --data', () => {
  it('keeps the checkpoint it signed and finds a truncation on the next run (exit 10)', async ({ skip }) => {
    skip(ON_POSTGRES, SQLITE_ONLY)
    const home = tempDir('jit-auditor-')
    const first = await jit(['audit', 'verify', '--data', broker.dataDir, '--json'], { home })
    expect(first.code, first.stdout + first.stderr).toBe(0)
    const seq = first.json().head.seq as number
    await broker.stop()
    truncateTail(broker.dataDir, seq - 1)
    const second = await jit(['audit', 'verify', '--data', broker.dataDir, '--json'], { home })
    expect(second.code).toBe(10)
    expect(second.json().error.firstBad.problem).toMatch(/newest records were deleted/)
    cleanup(home)
  })
})
