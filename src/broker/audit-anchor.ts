// Anchoring the audit chain: signed checkpoints of its head (src/audit/checkpoint.ts), made
// periodically by the sweeper and on demand, kept in the database and handed out; and the
// verification that checks the chain against them, against checkpoints held elsewhere (the
// CLI's from its last run, a verifier's, an export's) and against the highest sequence number
// ever written. A checkpoint is only ever signed over records that were checked first.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { DatabaseSync } from 'node:sqlite'
import { checkpointMismatch, readCheckpoint, signCheckpoint, type Checkpoint } from '../audit/checkpoint.js'
import { checkRange, checkRangeOffThread, verifyAuditLog } from '../audit/verify-log.js'
import { nowIso } from '../util/ids.js'
import type { AuditVerifyResult } from '../wire/api.js'
import type { SigningKey } from './signing-key.js'
import type { SqliteAsyncStore } from './store/sqlite-async-store.js'
import type { SqliteStore } from './store/sqlite-store.js'

/** The sweeper signs a new checkpoint when the chain has grown and the last one is this old. */
export const CHECKPOINT_INTERVAL_SECONDS = 60

const SCHEMA = 'CREATE TABLE IF NOT EXISTS audit_checkpoints (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, at TEXT NOT NULL, jws TEXT NOT NULL)'

const ready = new WeakSet<object>()

function ensureSchema(db: DatabaseSync | SqliteStore['db']): void {
  if (ready.has(db)) return
  db.exec(SCHEMA)
  ready.add(db)
}

/** When the sweeper last failed to sign (records that do not check): it tries again, and says so, once an interval. */
const failedAt = new WeakMap<SqliteAsyncStore, number>()

export interface StoredCheckpoint {
  seq: number
  hash: string
  at: string
  jws: string
}

export function latestCheckpoint(store: SqliteStore): StoredCheckpoint | undefined {
  ensureSchema(store.db)
  return store.statement('SELECT seq, hash, at, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1').get() as StoredCheckpoint | undefined
}

export function listCheckpoints(store: SqliteStore): StoredCheckpoint[] {
  ensureSchema(store.db)
  return store.statement('SELECT seq, hash, at, jws FROM audit_checkpoints ORDER BY seq').all() as unknown as StoredCheckpoint[]
}

/**
 * Signs a checkpoint of the chain's head when it has grown past the last checkpoint. The records
 * since the last checkpoint are checked first (links and hashes), unless `verified` names a head
 * a full verification has just checked: a chain tampered with is never signed. Returns the
 * latest checkpoint; throws when the records since the last one do not check.
 */
export function checkpointHead(store: SqliteStore, key: SigningKey, issuer: string, atMs: number, verified?: { seq: number; hash: string }): StoredCheckpoint | undefined {
  const upTo = verified?.seq
  ensureSchema(store.db)
  const last = latestCheckpoint(store)
  const head = store.statement('SELECT seq, hash FROM audit WHERE seq <= ? ORDER BY seq DESC LIMIT 1').get(upTo ?? Number.MAX_SAFE_INTEGER) as { seq: number; hash: string } | undefined
  if (!head || (last && head.seq <= last.seq)) return last
  if (verified) {
    if (verified.hash !== head.hash) throw new Error(`audit record ${head.seq} changed since it was verified; no checkpoint signed`)
  } else {
    const since = checkRange(store.db as unknown as DatabaseSync, last?.seq ?? 0, head.seq)
    const linked = last ? since.firstPrevHash === last.hash && since.firstSeq === last.seq + 1 : since.firstSeq === 1
    if (since.bad || !linked || since.rows !== head.seq - (last?.seq ?? 0)) {
      throw new Error(`the audit records after ${last?.seq ?? 0} do not check; no checkpoint signed (run jit audit verify)`)
    }
  }
  const at = nowIso(atMs)
  const jws = signCheckpoint(head, at, issuer, key.privateKey, key.kid)
  store.transaction(() => {
    store.statement('INSERT OR IGNORE INTO audit_checkpoints (seq, hash, at, jws) VALUES (?,?,?,?)').run(head.seq, head.hash, at, jws)
  })
  return { seq: head.seq, hash: head.hash, at, jws }
}

const inFlight = new WeakSet<SqliteAsyncStore>()

/**
 * The sweeper's periodic checkpoint, when the chain grew and the last one is old enough. The
 * records since the last checkpoint (all of them, the first time) are checked on a worker
 * thread, as committed, so the broker never stops answering for it; the head that check ended
 * on is then signed. A failure is reported through `log`, and tried again an interval later.
 * The store's calls wait their turn (sqlite-async-store.ts): the checkpoint is never written into
 * a request's transaction.
 */
export async function checkpointIfDue(store: SqliteAsyncStore, key: SigningKey, issuer: string, atMs: number, log: (line: string) => void): Promise<void> {
  const interval = CHECKPOINT_INTERVAL_SECONDS * 1000
  if (inFlight.has(store) || (failedAt.get(store) ?? -Infinity) > atMs - interval) return
  const last = await store.run(latestCheckpoint)
  if (last && Date.parse(last.at) > atMs - interval) return
  if (inFlight.has(store)) return
  inFlight.add(store)
  const isOpen = () => store.sqlite.db.isOpen
  checkRangeOffThread(store.sqlite.file, last?.seq ?? 0, Number.MAX_SAFE_INTEGER)
    .then(async (since) => {
      if (since.rows === 0 && !since.bad) return
      const linked = last ? since.firstPrevHash === last.hash && since.firstSeq === last.seq + 1 : since.firstSeq === 1
      if (since.bad || !linked) throw new Error(`the audit records after ${last?.seq ?? 0} do not check; no checkpoint signed (run jit audit verify)`)
      if (!isOpen()) return
      await store.run((sqlite) => sqlite.db.isOpen && checkpointHead(sqlite, key, issuer, Date.now(), { seq: (last?.seq ?? 0) + since.rows, hash: since.lastHash as string }))
      failedAt.delete(store)
    })
    .catch((error: Error) => {
      if (!isOpen()) return
      failedAt.set(store, Date.now())
      log(`error: audit checkpoint: ${error.message}`)
    })
    .finally(() => inFlight.delete(store))
}

export interface AnchoredVerifyOptions {
  /** The broker's public key and its kid: checkpoints signed by anything else are refused. */
  publicKey?: KeyObject
  kid?: string
  /** Checkpoints held outside the database (compact JWS). */
  anchors?: string[]
  offMainThread?: boolean
}

/**
 * The chain verified (verify-log.ts), then anchored: the highest sequence number ever written
 * must still be there, and every checkpoint (the database's newest and each one held elsewhere)
 * must fit the chain as it is. The answer names the first record that does not.
 */
export async function verifyAnchored(file: string, options: AnchoredVerifyOptions): Promise<AuditVerifyResult> {
  const chain = await verifyAuditLog(file, { offMainThread: options.offMainThread })
  if (!chain.ok) return chain
  const db = new DatabaseSync(file, { readOnly: true })
  // One snapshot for everything read below; the broker may append meanwhile.
  db.exec('BEGIN')
  try {
    const lastSeq = (db.prepare('SELECT max(seq) AS seq FROM audit').get() as { seq: number | null }).seq ?? 0
    // The head is the last record the walk checked (seqs 1..events when it passed), not one appended since.
    const head = chain.events > 0 ? (db.prepare('SELECT seq, hash FROM audit WHERE seq = ?').get(chain.events) as { seq: number; hash: string } | undefined) : undefined
    const broken = (firstBad: { seq: number; problem: string }): AuditVerifyResult => ({ ok: false, events: chain.events, firstBad, head: head && { seq: head.seq, hash: head.hash } })
    const hasTable = (name: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
    const high = hasTable('audit_high_water') ? ((db.prepare('SELECT seq FROM audit_high_water WHERE id = 1').get() as { seq: number } | undefined)?.seq ?? 0) : 0
    if (high > lastSeq) return broken({ seq: lastSeq + 1, problem: `the broker wrote records up to ${high}, the log ends at ${lastSeq}: the newest records were deleted` })
    const stored = hasTable('audit_checkpoints') ? (db.prepare('SELECT jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1').get() as { jws: string } | undefined)?.jws : undefined
    const anchors = [...(options.anchors ?? []), ...(stored ? [stored] : [])]
    const hashAt = (seq: number) => (db.prepare('SELECT hash FROM audit WHERE seq = ?').get(seq) as { hash: string } | undefined)?.hash
    let newest: Checkpoint | undefined
    for (const jws of anchors) {
      if (!options.publicKey || !options.kid) return broken({ seq: 0, problem: 'there are checkpoints but no broker signing key to check them with' })
      const checkpoint = readCheckpoint(jws, options.publicKey, options.kid)
      if ('error' in checkpoint) return broken({ seq: 0, problem: `a checkpoint does not check: ${checkpoint.error}` })
      const mismatch = checkpointMismatch(checkpoint, lastSeq, hashAt)
      if (mismatch) return broken(mismatch)
      if (!newest || checkpoint.seq > newest.seq) newest = checkpoint
    }
    return { ...chain, head: head && { seq: head.seq, hash: head.hash }, anchoredAt: newest && { seq: newest.seq, at: newest.at }, anchors: anchors.length }
  } finally {
    db.exec('ROLLBACK')
    db.close()
  }
}

export const publicKeyOf = (key: SigningKey) => createPublicKey(key.privateKey)
