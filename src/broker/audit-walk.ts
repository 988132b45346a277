// Walking the audit chain as it is committed, on either store: from a snapshot (store.snapshot),
// in keyset batches (seq > last seen, in seq order), so a log of millions of records is never
// loaded whole, with each row checked by the one per-row check of src/audit/verify-log.ts.
// Between batches the walk gives the event loop a turn: a broker keeps answering while it walks.
//
// On the embedded SQLite store the file is walked by worker threads instead (verifyAuditLog):
// several cores, and nothing on the broker's thread. That is the only SQLite-specific code of
// the audit chain's verification, and it sits here, behind walkChain and walkSince.
import { checkRows, combineRanges, verifyAuditLog, checkRangeOffThread, AUDIT_ROW_COLUMNS, type AuditRow, type RangeCheck } from '../audit/verify-log.js'
import type { AuditVerifyResult } from '../wire/api.js'
import type { Row } from './store/records.js'
import { SqliteAsyncStore } from './store/sqlite-async-store.js'
import type { SqlReader, Store } from './store/store.js'

/** Rows read per batch: enough that a round trip to PostgreSQL is small beside the hashing. */
const BATCH = 2000

const asAuditRow = (row: Row): AuditRow => [Number(row.seq), row.at, row.type, row.severity, row.actor, row.session_id, row.request_id, row.data, row.prev_hash, row.hash]

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Checks the records with after < seq <= upTo in `read`'s snapshot, `batch` rows at a time; stops at the first bad one. */
export async function checkRangeInBatches(read: SqlReader, after: number, upTo: number, batch = BATCH): Promise<RangeCheck> {
  const result: RangeCheck = { rows: 0 }
  let from = after
  for (;;) {
    const rows = (await read.query(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ${batch}`, [from, upTo])).map(asAuditRow)
    if (!checkRows(result, rows) || rows.length < batch) return result
    from = rows[rows.length - 1][0]
    await nextTurn()
  }
}

/**
 * The whole chain, records 1..upTo (upTo: the snapshot's last record), verified: the same
 * verdict, and the same first bad record, as verifyChain over the events. On SQLite the records
 * are read from the committed file by worker threads (with `offMainThread`, or when there are
 * many): those of the snapshot, as nothing but appends come after it.
 */
export async function walkChain(store: Store, read: SqlReader, upTo: number, options: { offMainThread?: boolean } = {}): Promise<AuditVerifyResult> {
  if (store instanceof SqliteAsyncStore) return verifyAuditLog(store.sqlite.file, { offMainThread: options.offMainThread, upTo })
  return verifyInBatches(read, upTo)
}

/** The whole chain up to upTo in `read`'s snapshot, in batches: from the lowest seq there is (a forged record 0 or below is the first bad one). */
export async function verifyInBatches(read: SqlReader, upTo: number, batch = BATCH): Promise<AuditVerifyResult> {
  return combineRanges([await checkRangeInBatches(read, -Number.MAX_SAFE_INTEGER, upTo, batch)])
}

/** From this many records on, a worker thread walks a SQLite range: below, its start-up costs more than the batches' turns. */
const OFF_THREAD_FROM = 20_000

/** The records after `after` (up to upTo) checked, as a range (the caller checks how it joins what came before). */
export async function walkSince(store: Store, read: SqlReader, after: number, upTo: number): Promise<RangeCheck> {
  if (store instanceof SqliteAsyncStore && upTo - after >= OFF_THREAD_FROM) return checkRangeOffThread(store.sqlite.file, after, upTo)
  return checkRangeInBatches(read, after, upTo)
}
