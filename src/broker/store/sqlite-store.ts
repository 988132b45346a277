// The SQLite engine (node:sqlite) under the embedded broker's store: the data folder's file, its
// schema brought up to date on open (schema/), transactions, group commit and the audit chain's
// append. The domain's reads and writes are not here: the repositories (repositories/) reach the
// file through the asynchronous store (sqlite-async-store.ts). Every state change and its audit
// record commit in one transaction; commits are durable (WAL, synchronous=FULL).
//
// Group commit (the running broker turns it on): the transactions of every request handled in
// one turn of the event loop run as savepoints inside one IMMEDIATE transaction, committed with
// one fsync at the end of that turn. Nothing is acknowledged before its commit: the HTTP layer
// holds every reply until whenDurable() settles, and a failed commit fails every reply of the
// group. Each request's own transaction still commits or rolls back as a whole (its savepoint).
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { GENESIS_HASH } from '../../audit/chain.js'
import { nowIso } from '../../util/ids.js'
import { AUDIT_COLUMNS, CHAIN_HEAD_ROW, chainedRecord, type NewAuditEvent } from './records.js'
import { migrateSqlite } from './schema/migrate.js'
import type { Migration } from './schema/migrations.js'
import type { AuditEvent } from '../../wire/api.js'

interface CommitGroup {
  durable: Promise<void>
  resolve(): void
  reject(error: Error): void
}

export class SqliteStore {
  readonly db: DatabaseSync
  /** The SQLite file. */
  readonly file: string
  readonly #statements = new Map<string, StatementSync>()
  #groupCommit = false
  #group?: CommitGroup
  /** The chain's tail, known only while this connection holds the write lock (inside a transaction). */
  #auditTail?: { seq: number; hash: string }
  /** A transaction (or, under group commit, a request's savepoint) is open. */
  #open = false
  /** The group's turn ended while a transaction was open: commit as soon as it closes. */
  #commitWhenClosed = false

  /** Opens (or makes) the data folder's database and brings its schema to the last migration (schema/). */
  constructor(readonly dataDir: string, options: { migrations?: readonly Migration[] } = {}) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    this.file = join(dataDir, 'broker.db')
    keepPrivate(dataDir, this.file)
    this.db = new DatabaseSync(this.file)
    this.db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;')
    migrateSqlite(this.db, options.migrations)
    this.db.exec(CHAIN_HEAD_ROW)
  }

  close(): void {
    if (this.#group) this.#commitGroup()
    this.db.close()
  }

  /** Prepared once, reused: the hot path never re-parses SQL. */
  statement(text: string): StatementSync {
    return this.#sql(text)
  }

  #sql(text: string): StatementSync {
    let statement = this.#statements.get(text)
    if (!statement) {
      statement = this.db.prepare(text)
      this.#statements.set(text, statement)
    }
    return statement
  }

  /** Runs fn in one IMMEDIATE transaction: its writes and audit records commit together or not at all. */
  transaction<T>(fn: () => T): T {
    if (this.#open) return this.#nested(fn)
    this.beginTransaction()
    let result: T
    try {
      result = fn()
    } catch (error) {
      this.endTransaction(false)
      throw error
    }
    this.endTransaction(true)
    return result
  }

  /** A transaction inside an open one: its own savepoint, so it still rolls back alone. */
  #nested<T>(fn: () => T): T {
    this.beginNested()
    let result: T
    try {
      result = fn()
    } catch (error) {
      this.endNested(false)
      throw error
    }
    this.endNested(true)
    return result
  }

  /** A savepoint inside the open transaction (a transaction begun inside another). */
  beginNested(): void {
    this.db.exec('SAVEPOINT nested')
  }

  /** Releases (ok) or rolls back the savepoint of beginNested(); the chain's tail is read again after a rollback. */
  endNested(ok: boolean): void {
    if (!ok) {
      this.db.exec('ROLLBACK TO nested')
      this.#auditTail = undefined
    }
    this.db.exec('RELEASE nested')
  }

  /**
   * Opens a transaction whose body runs across awaits (the asynchronous store, sqlite-async-store.ts,
   * which lets one transaction run at a time). Under group commit it is a savepoint of the open
   * group, and the group is not committed before endTransaction(): a commit in the middle would
   * make half of it durable.
   */
  beginTransaction(): void {
    if (this.#open) throw new Error('A transaction is already open on this store.')
    if (this.#groupCommit) {
      this.#openGroup()
      this.db.exec('SAVEPOINT request')
    } else {
      this.db.exec('BEGIN IMMEDIATE')
      this.#auditTail = undefined
    }
    this.#open = true
  }

  /** Commits (ok) or rolls back the transaction beginTransaction() opened. */
  endTransaction(ok: boolean): void {
    this.#open = false
    if (this.#groupCommit) {
      if (ok) {
        this.db.exec('RELEASE request')
      } else {
        this.db.exec('ROLLBACK TO request')
        this.db.exec('RELEASE request')
        this.#auditTail = undefined
      }
      if (this.#commitWhenClosed) {
        this.#commitWhenClosed = false
        this.#commitGroup()
      }
      return
    }
    try {
      if (ok) this.db.exec('COMMIT')
      else this.db.exec('ROLLBACK')
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw error
    } finally {
      this.#auditTail = undefined
    }
  }

  /** From now on, transactions of one event-loop turn share one commit (see the module header). */
  enableGroupCommit(): void {
    this.#groupCommit = true
  }

  /** Settles once everything written so far is on disk; undefined when nothing is waiting for a commit. */
  whenDurable(): Promise<void> | undefined {
    return this.#group?.durable
  }

  #openGroup(): void {
    if (this.#group) return
    this.db.exec('BEGIN IMMEDIATE')
    this.#auditTail = undefined
    let resolve!: () => void
    let reject!: (error: Error) => void
    const durable = new Promise<void>((ok, fail) => {
      resolve = ok
      reject = fail
    })
    // Nobody may be waiting (a sweeper-only group); the failure is still raised to the waiters there are.
    durable.catch(() => {})
    this.#group = { durable, resolve, reject }
    setImmediate(() => {
      if (this.#open) this.#commitWhenClosed = true
      else this.#commitGroup()
    })
  }

  #commitGroup(): void {
    const group = this.#group
    if (!group) return
    this.#group = undefined
    this.#auditTail = undefined
    try {
      this.db.exec('COMMIT')
      group.resolve()
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      group.reject(error as Error)
    }
  }

  // ---- audit ----------------------------------------------------------------------------

  /** Appends to the hash chain. Call inside a transaction so the link to the last record holds. */
  appendAudit(event: NewAuditEvent, at = nowIso()): AuditEvent {
    // Inside a transaction the write lock is ours, so no other process (jit admin) can append
    // between two of our records: the tail read once stays true until the lock is released.
    const inTransaction = this.db.isTransaction
    const last = (inTransaction && this.#auditTail) || this.#readAuditTail()
    const { record, row } = chainedRecord(event, at, (last?.seq ?? 0) + 1, last?.hash ?? GENESIS_HASH)
    this.#sql(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)`).run(...row)
    this.#sql('UPDATE audit_high_water SET seq = ? WHERE id = 1').run(record.seq)
    if (inTransaction) this.#auditTail = { seq: record.seq, hash: record.hash }
    return record
  }

  /** The chain's last record, numbered past the highest sequence number ever written. */
  #readAuditTail(): { seq: number; hash: string } | undefined {
    const tail = this.#sql('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined
    const high = (this.#sql('SELECT seq FROM audit_high_water WHERE id = 1').get() as { seq: number } | undefined)?.seq ?? 0
    if (!tail && high === 0) return undefined
    return { seq: Math.max(tail?.seq ?? 0, high), hash: tail?.hash ?? GENESIS_HASH }
  }

  /** Audited write outside any other transaction. */
  audit(event: NewAuditEvent): AuditEvent {
    return this.transaction(() => this.appendAudit(event))
  }

}

/**
 * The data folder is the operator's alone (0700) and its database files are 0600, also when the
 * folder already existed with looser modes. The database file is created 0600 before SQLite opens
 * it, and SQLite gives its -wal and -shm files the mode of the database file.
 */
function keepPrivate(dataDir: string, file: string): void {
  chmodSync(dataDir, 0o700)
  closeSync(openSync(file, 'a', 0o600))
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  }
}


