// The broker's durable state in SQLite (node:sqlite): users, devices, enrollment codes, assets,
// requests, sessions, the replay cache and the audit log. Every state change and its audit
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
import { AUDIT_COLUMNS, chainedRecord, type NewAuditEvent, type Row } from './records.js'
import type { AuditEvent } from '../../wire/api.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, roles TEXT NOT NULL, org TEXT, disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrollment_codes (code_hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name), expires_at INTEGER NOT NULL, used_at TEXT);
CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name), name TEXT NOT NULL, public_jwk TEXT NOT NULL, jkt TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS assets (path TEXT PRIMARY KEY, attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, body TEXT NOT NULL, user TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS requests_user ON requests(user, created_at);
CREATE INDEX IF NOT EXISTS requests_state ON requests(state);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, user TEXT NOT NULL, device_id TEXT NOT NULL, asset TEXT NOT NULL, ticket TEXT NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL, jti TEXT NOT NULL UNIQUE, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, cache_allowed INTEGER NOT NULL, state TEXT NOT NULL, ended_at TEXT, ended_by TEXT, end_reason TEXT, last_verified_at TEXT);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user, state);
CREATE INDEX IF NOT EXISTS sessions_asset ON sessions(asset, state);
CREATE TABLE IF NOT EXISTS seen_assertions (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS seen_assertions_expiry ON seen_assertions(expires_at);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions(state, expires_at);
CREATE INDEX IF NOT EXISTS sessions_ticket ON sessions(ticket, state);
CREATE TABLE IF NOT EXISTS verifiers (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, type TEXT NOT NULL, severity TEXT NOT NULL, actor TEXT NOT NULL, session_id TEXT, request_id TEXT, data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_session ON audit(session_id);
CREATE INDEX IF NOT EXISTS audit_request ON audit(request_id);
CREATE TABLE IF NOT EXISTS audit_checkpoints (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, at TEXT NOT NULL, jws TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS session_ends (seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, asset TEXT NOT NULL, cause TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS session_ends_session ON session_ends(session_id);
CREATE TABLE IF NOT EXISTS gateways (name TEXT PRIMARY KEY, address TEXT NOT NULL, cert_sha256 TEXT NOT NULL, announced_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reviews (id TEXT PRIMARY KEY, session_id TEXT NOT NULL UNIQUE, user TEXT NOT NULL, asset TEXT NOT NULL, kind TEXT NOT NULL, due_at INTEGER NOT NULL, answers TEXT, filed_at TEXT, signed_off_by TEXT, signed_off_at TEXT, sign_off_comment TEXT, overdue_flagged INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS reviews_user ON reviews(user, filed_at);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, delivered_at TEXT, last_error TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(delivered_at, next_attempt_at);
CREATE TABLE IF NOT EXISTS ssh_certificates (serial INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, key_id TEXT NOT NULL, ca_fingerprint TEXT NOT NULL, principals TEXT NOT NULL, valid_after INTEGER NOT NULL, valid_before INTEGER NOT NULL, key_fingerprint TEXT NOT NULL, issued_at TEXT NOT NULL, revocation_audited INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS ssh_certificates_valid ON ssh_certificates(valid_before);
CREATE INDEX IF NOT EXISTS ssh_certificates_session ON ssh_certificates(session_id);
CREATE TABLE IF NOT EXISTS session_verifications (session_id TEXT NOT NULL, verifier TEXT NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL, checks INTEGER NOT NULL, last_active INTEGER NOT NULL, PRIMARY KEY (session_id, verifier));
CREATE TABLE IF NOT EXISTS ticket_register (id TEXT PRIMARY KEY, asset TEXT NOT NULL, assignee TEXT, org TEXT, title TEXT, state TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ticket_register_state ON ticket_register(state);
CREATE TABLE IF NOT EXISTS ticket_events (system TEXT NOT NULL, event_id TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (system, event_id));
`

export type { Row }

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

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    this.file = join(dataDir, 'broker.db')
    keepPrivate(dataDir, this.file)
    this.db = new DatabaseSync(this.file)
    this.db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;')
    this.db.exec(SCHEMA)
    this.#migrate()
  }

  /** Columns added after the first release; a data folder from before gets them on open. */
  #migrate(): void {
    const columns = new Set((this.db.prepare('PRAGMA table_info(sessions)').all() as Row[]).map((row) => row.name as string))
    if (!columns.has('heartbeat_at')) this.db.exec('ALTER TABLE sessions ADD COLUMN heartbeat_at INTEGER')
    // The highest sequence number ever written: deleting the newest records never makes the
    // broker hand their numbers out again, and verification sees that they are gone.
    this.db.exec('CREATE TABLE IF NOT EXISTS audit_high_water (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL)')
    this.db.exec('INSERT OR IGNORE INTO audit_high_water (id, seq) SELECT 1, COALESCE(max(seq), 0) FROM audit')
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


