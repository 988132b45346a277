// `jit audit verify` on a log of a million events. The log is written into a fresh store
// through the store's own appendAudit (as the broker writes it), shaped like the broker's fast
// path: request.created, policy.decision, request.approved, session.issued, again and again.
// Then the chain is verified in process (verifyAuditLog over the file, as the broker's
// /v1/audit/verify does) and by the CLI (`jit audit verify --data DIR`), start to exit.
import { join } from 'node:path'
import { verifyAuditLog } from '../../dist/src/audit/verify-log.js'
import { SqliteStore } from '../../dist/src/broker/store/sqlite-store.js'
import { median, nowMs, type Section } from '../lib.ts'
import { ASSET, TICKET, removeDirs, tempDir, timedRun } from '../support.ts'

function fastPathEvent(seq: number, at: string): { type: string; actor: string; sessionId?: string; requestId: string; data: Record<string, unknown> } {
  const grant = Math.floor((seq - 1) / 4)
  const requestId = `req_bench${grant.toString(36).padStart(8, '0')}`
  const sessionId = `ses_bench${grant.toString(36).padStart(8, '0')}`
  switch ((seq - 1) % 4) {
    case 0:
      return { type: 'request.created', actor: 'tech-a', requestId, data: { ticket: TICKET, asset: ASSET, scope: 'diagnose', ttlSeconds: 1800, reason: 'conveyor fault E42', deviceId: 'dev_benchdevice000000000' } }
    case 1:
      return { type: 'policy.decision', actor: 'broker', requestId, data: { allow: true, rule: 'line3-diagnose', reasons: [], approvalsNeeded: 0 } }
    case 2:
      return { type: 'request.approved', actor: 'broker', requestId, data: { rule: 'line3-diagnose', automatic: true } }
    default:
      return { type: 'session.issued', actor: 'tech-a', sessionId, requestId, data: { asset: ASSET, scope: 'diagnose', ticket: TICKET, kind: 'standard', expiresAt: at, deviceJkt: 'Zk3n0Q2bVd8Xy4m3cFqv1n7sHkT0aW9eJ5uRt2LpQo' } }
  }
}

/** Writes `count` chained events into a fresh data folder through the store's own appendAudit. */
export function writeAuditLog(dataDir: string, count: number): void {
  const store = new SqliteStore(dataDir)
  try {
    const base = Date.parse('2026-01-05T06:00:00.000Z')
    // Transactions of 10,000 records: the tail is read once per transaction, as in the broker.
    for (let from = 1; from <= count; from += 10_000) {
      store.transaction(() => {
        for (let seq = from; seq < Math.min(from + 10_000, count + 1); seq++) {
          const at = new Date(base + seq * 7).toISOString()
          store.appendAudit(fastPathEvent(seq, at), at)
        }
      })
    }
  } finally {
    store.close()
  }
}

const auditVerify: Section = async ({ quick, root }) => {
  const events = quick ? 20_000 : 1_000_000
  const dataDir = tempDir('jit-bench-audit-')
  try {
    const writeStart = nowMs()
    writeAuditLog(dataDir, events)
    const writeSeconds = (nowMs() - writeStart) / 1000
    const repetitions = quick ? 1 : 3

    const inProcess: number[] = []
    for (let i = 0; i < repetitions; i++) {
      const start = nowMs()
      const result = await verifyAuditLog(join(dataDir, 'broker.db'))
      inProcess.push(nowMs() - start)
      if (!result.ok || result.events !== events) throw new Error(`verifyAuditLog said ${JSON.stringify(result)}`)
    }

    const cli: number[] = []
    for (let i = 0; i < repetitions; i++) {
      const run = await timedRun(process.execPath, [join(root, 'bin/run.js'), 'audit', 'verify', '--data', dataDir, '--json'])
      const result = run.code === 0 ? JSON.parse(run.stdout) : undefined
      if (!result?.ok || result.events !== events) throw new Error(`jit audit verify exited ${run.code}: ${run.stdout}${run.stderr}`)
      cli.push(run.ms)
    }

    const size = `${events.toLocaleString('en-US')} events`
    const inProcessRate = events / (median(inProcess) / 1000)
    const cliRate = events / (median(cli) / 1000)
    return [
      { section: 'audit-verify', name: `verifyAuditLog, ${size}`, value: inProcessRate, unit: 'events/s', target: '>= 500,000 events/s', met: inProcessRate >= 500_000, note: `median of ${repetitions}; ${Math.round(median(inProcess))} ms per walk` },
      { section: 'audit-verify', name: `jit audit verify --data, ${size}`, value: cliRate, unit: 'events/s', target: '>= 500,000 events/s', met: cliRate >= 500_000, note: `median of ${repetitions}; ${Math.round(median(cli))} ms start to exit; log written in ${writeSeconds.toFixed(1)} s` },
    ]
  } finally {
    removeDirs(dataDir)
  }
}

export default auditVerify
