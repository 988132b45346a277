// Verifies the audit log in a broker's SQLite file, fast: the same verdict as verifyChain over
// the store's events (the same first bad record, the same problem), at a few µs per record.
//
// - A record's hash check needs only its own row (its stored prev_hash included), so the rows
//   are split by seq into ranges checked in parallel on worker threads; each range also checks
//   the seq order and links inside it, and the main thread checks the seams between ranges in
//   order, so the first bad record reported is still the first in the log.
// - Rows are read as arrays, a thousand at a time, with only the columns the hash covers.
// - The broker stores `data` as the canonical JSON its hash covers, so the stored text is
//   hashed as it is. Rows written before that kept `JSON.stringify(data)`: when the stored
//   text does not give the hash, it is parsed and hashed as canonical JSON, as before.
import { hash as digest } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { DatabaseSync } from 'node:sqlite'
import { isMainThread, parentPort, type Worker, workerData } from 'node:worker_threads'
import { canonicalJson } from '../util/canonical-json.js'
import type { AuditVerifyResult } from '../wire/api.js'
import { CHAIN_PROBLEMS, GENESIS_HASH, hashEventWithData } from './chain.js'
import { moduleWorker } from '../util/module-worker.js'

/** Below this many records, worker start-up costs more than it saves. */
const PARALLEL_FROM = 50_000
const MAX_THREADS = 8
const CHUNK = 1000

/** One audit row as an array, in the order of AUDIT_ROW_COLUMNS; seq a number. */
export type AuditRow = [seq: number, at: unknown, type: unknown, severity: unknown, actor: unknown, sessionId: unknown, requestId: unknown, data: unknown, prevHash: unknown, hash: unknown]

/** What one range of the log says about itself; the seams between ranges are checked by combineRanges. */
export interface RangeCheck {
  /** Records that passed, from the start of the range. */
  rows: number
  firstSeq?: number
  firstPrevHash?: unknown
  lastHash?: unknown
  /** The first record of the range that fails a check made inside it; `index` is its place in the range. */
  bad?: { index: number; seq: number; problem: 'seq' | 'link' | 'hash' }
}

/** Splits seqs lo..hi into `parts` ranges (after, upTo], in order. */
export function planRanges(lo: number, hi: number, parts: number): [after: number, upTo: number][] {
  const step = Math.max(1, Math.floor((hi - lo + 1) / parts))
  const ranges: [number, number][] = []
  let after = lo - 1
  for (let i = 0; i < parts - 1 && after + step < hi; i++) {
    ranges.push([after, after + step])
    after += step
  }
  ranges.push([after, hi])
  return ranges
}

export function openLog(file: string): DatabaseSync {
  const db = new DatabaseSync(file, { readOnly: true })
  db.exec('PRAGMA busy_timeout=5000')
  return db
}

/** The columns of an audit row as checkRows reads them (AuditRow), in portable SQL. */
export const AUDIT_ROW_COLUMNS = 'seq, at, type, severity, actor, session_id, request_id, data, prev_hash, hash'

/** Checks the records with after < seq <= upTo, in seq order; stops at the first bad one. */
export function checkRange(db: DatabaseSync, after: number, upTo: number): RangeCheck {
  const select = db.prepare(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ${CHUNK}`)
  select.setReturnArrays(true)
  const result: RangeCheck = { rows: 0 }
  let from = after
  for (;;) {
    const chunk = select.all(from, upTo) as unknown as AuditRow[]
    if (!checkRows(result, chunk) || chunk.length < CHUNK) return result
    from = chunk[chunk.length - 1][0]
  }
}

/**
 * The check of one range, row by row, whoever reads the rows (checkRange here, on this thread or
 * a worker; the broker's batches read from any store): the next rows of the range, in seq order,
 * added to `result`. False once a record is bad (result.bad names it); the rest are not looked at.
 */
export function checkRows(result: RangeCheck, rows: readonly AuditRow[]): boolean {
  for (const row of rows) {
    const seq = row[0]
    if (result.rows === 0) {
      result.firstSeq = seq
      result.firstPrevHash = row[8]
    } else if (seq !== result.firstSeq! + result.rows) {
      result.bad = { index: result.rows, seq, problem: 'seq' }
    } else if (row[8] !== result.lastHash) {
      result.bad = { index: result.rows, seq, problem: 'link' }
    }
    if (!result.bad && !hashMatches(row)) result.bad = { index: result.rows, seq, problem: 'hash' }
    if (result.bad) return false
    result.lastHash = row[9]
    result.rows++
  }
  return true
}

/** Characters JSON.stringify would escape in a string (and any surrogate, to stay on the safe side). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/** Every string field of the record is a string JSON.stringify would only put quotes around. */
function plainStrings([, at, type, severity, actor, sessionId, requestId, , prevHash]: AuditRow): boolean {
  return typeof prevHash === 'string' && typeof at === 'string' && typeof type === 'string' && typeof severity === 'string' && typeof actor === 'string'
    && (sessionId === null || typeof sessionId === 'string') && (requestId === null || typeof requestId === 'string')
    && !NEEDS_ESCAPE.test(`${actor}${at}${type}${severity}${sessionId ?? ''}${requestId ?? ''}`)
}

/** The hashed content (chain.ts, eventContent) of a record whose strings are plain, written directly. */
function plainContent([seq, at, type, severity, actor, sessionId, requestId, data]: AuditRow): string {
  return `{"actor":"${actor}","at":"${at}","data":${data}${requestId === null ? '' : `,"requestId":"${requestId}"`},"seq":${seq}${sessionId === null ? '' : `,"sessionId":"${sessionId}"`},"severity":"${severity}","type":"${type}"}`
}

function hashMatches(row: AuditRow): boolean {
  const [seq, at, type, severity, actor, sessionId, requestId, data, prevHash, hash] = row
  const body = { seq, at, type, severity, actor, sessionId: sessionId ?? undefined, requestId: requestId ?? undefined } as Parameters<typeof hashEventWithData>[1]
  // As the broker stores it now: the canonical JSON the hash covers.
  if (typeof data === 'string') {
    const asStored = plainStrings(row) ? sha256Hex(`${prevHash}\n${plainContent(row)}`) : hashEventWithData(prevHash as string, body, data)
    if (asStored === hash) return true
  }
  // As earlier brokers stored it: JSON.stringify of the data, which may differ from canonical JSON.
  let canonical: string
  try {
    canonical = canonicalJson(JSON.parse(data as string))
  } catch {
    return false
  }
  return canonical !== data && hashEventWithData(prevHash as string, body, canonical) === hash
}

function sha256Hex(text: string): string {
  return digest('sha256', text, 'hex')
}

/** Puts the ranges' findings together, in order: the first bad record of the whole log, or ok. */
export function combineRanges(ranges: RangeCheck[]): AuditVerifyResult {
  let count = 0
  let prevHash: unknown = GENESIS_HASH
  for (const range of ranges) {
    if (range.firstSeq === undefined) continue
    if (range.firstSeq !== count + 1) return { ok: false, events: count + 1, firstBad: { seq: range.firstSeq, problem: CHAIN_PROBLEMS.seq(count + 1) } }
    if (range.firstPrevHash !== prevHash) return { ok: false, events: count + 1, firstBad: { seq: range.firstSeq, problem: CHAIN_PROBLEMS.link } }
    if (range.bad) {
      const events = count + range.bad.index + 1
      const problem = range.bad.problem === 'seq' ? CHAIN_PROBLEMS.seq(events) : CHAIN_PROBLEMS[range.bad.problem]
      return { ok: false, events, firstBad: { seq: range.bad.seq, problem } }
    }
    count += range.rows
    prevHash = range.lastHash
  }
  return { ok: true, events: count }
}

/**
 * Verifies the audit log of a broker's database file, read through connections of its own:
 * the records committed when it starts (those up to `upTo`, when given). Large logs are checked on worker threads; with
 * `offMainThread` (the broker, which must keep answering meanwhile) every log is.
 */
export async function verifyAuditLog(file: string, options: { offMainThread?: boolean; upTo?: number } = {}): Promise<AuditVerifyResult> {
  const db = openLog(file)
  let ranges: [number, number][]
  try {
    const { lo, hi } = db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM audit WHERE seq <= ?').get(options.upTo ?? Number.MAX_SAFE_INTEGER) as { lo: number | null; hi: number | null }
    if (lo === null || hi === null) return { ok: true, events: 0 }
    const threads = hi - lo + 1 >= PARALLEL_FROM ? Math.min(availableParallelism(), MAX_THREADS) : 1
    ranges = planRanges(lo, hi, threads)
    if (ranges.length === 1 && !options.offMainThread) return combineRanges([checkRange(db, ...ranges[0])])
  } finally {
    db.close()
  }
  const workers: Worker[] = []
  try {
    return combineRanges(await Promise.all(ranges.map(([after, upTo]) => checkRangeOnWorker(workers, file, after, upTo))))
  } catch (error) {
    // One range failed (the file went away, a lock timed out): the others need not finish.
    for (const worker of workers) void worker.terminate()
    throw error
  }
}

/** checkRange on a worker thread of its own: the caller's event loop keeps running meanwhile. */
export function checkRangeOffThread(file: string, after: number, upTo: number): Promise<RangeCheck> {
  return checkRangeOnWorker([], file, after, upTo)
}

function checkRangeOnWorker(workers: Worker[], file: string, after: number, upTo: number): Promise<RangeCheck> {
  return new Promise((resolve, reject) => {
    // The worker runs this very module: see the end of the file.
    const worker = moduleWorker('audit-verify-log', import.meta.url, { workerData: { job: RANGE_JOB, file, after, upTo } })
    workers.push(worker)
    let answered = false
    worker.once('message', (result: RangeCheck) => {
      answered = true
      resolve(result)
    })
    worker.once('error', reject)
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`The audit verification worker stopped (exit code ${code}) before it answered.`))
    })
  })
}

// A worker started by checkRangeOnWorker runs this module (whichever file holds it: the compiled
// module, or a chunk of the bundled CLI, where a path relative to this file would not exist) and
// checks its one range. Kept last so everything above is defined when it runs.
const RANGE_JOB = 'jit-audit-range'
if (!isMainThread && (workerData as { job?: string } | null)?.job === RANGE_JOB) {
  const { file, after, upTo } = workerData as { file: string; after: number; upTo: number }
  const db = openLog(file)
  try {
    parentPort!.postMessage(checkRange(db, after, upTo))
  } finally {
    db.close()
  }
}
