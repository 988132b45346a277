// Broker throughput on its fast path: POST /v1/requests on an auto-approving rule, answered
// with a grant (session opened, credential signed, audit records committed with
// synchronous=FULL). The broker runs as `jit broker start` in a child process; the load
// generator runs here, over real HTTP on loopback, with real signed device assertions, on the
// same machine and cores as the broker.
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { Pool } from 'undici'
import { median, type BenchRow, type Section } from '../lib.ts'
import { driveGrants, startBrokerProcess, type GrantRun } from '../support.ts'

const throughput: Section = async ({ quick, root }) => {
  const broker = await startBrokerProcess(root)
  const pool = new Pool(broker.url, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 })
  try {
    const target = { pool, key: { ...(await broker.enrollDevice('tech-load')), audience: broker.issuer } }
    let grants = (await driveGrants([target], 16, quick ? 20 : 500)).grants // warm-up: JIT, statement cache, connections
    const plan = [
      { concurrency: 1, total: quick ? 30 : 1500 },
      { concurrency: 16, total: quick ? 60 : 6000 },
      { concurrency: 64, total: quick ? 120 : 6000 },
    ]
    const repetitions = quick ? 1 : 3
    const rows: BenchRow[] = []
    for (const { concurrency, total } of plan) {
      const runs: GrantRun[] = []
      for (let i = 0; i < repetitions; i++) {
        const run = await driveGrants([target], concurrency, total, [broker.child.pid])
        runs.push(run)
        grants += run.grants
      }
      const rate = median(runs.map((r) => r.grantsPerSecond))
      const p99 = median(runs.map((r) => r.p99))
      const cpu = runs.every((r) => r.cpuMicros !== undefined) ? `, broker CPU ${Math.round(median(runs.map((r) => r.cpuMicros!)))} µs/grant` : ''
      rows.push({
        section: 'throughput',
        name: `request → grant, concurrency ${concurrency}`,
        value: rate,
        unit: 'grants/s',
        p50: median(runs.map((r) => r.p50)),
        p99,
        target: '5,000/s, p99 < 5 ms',
        met: rate >= 5000 && p99 < 5,
        note: `median of ${repetitions} x ${total} requests${cpu}; load generator on the same machine`,
      })
    }
    // Every acknowledged grant must be on disk with its audit trail: count them from the file.
    const db = new DatabaseSync(join(broker.dataDir, 'broker.db'), { readOnly: true })
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n
      const sessions = count('SELECT count(*) AS n FROM sessions')
      const issued = count("SELECT count(*) AS n FROM audit WHERE type = 'session.issued'")
      if (sessions !== grants || issued !== grants) throw new Error(`${grants} grants acknowledged, but ${sessions} sessions and ${issued} session.issued audit records on disk`)
    } finally {
      db.close()
    }
    return rows
  } finally {
    await pool.close()
    await broker.stop()
  }
}

export default throughput
