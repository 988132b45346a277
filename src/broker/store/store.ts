// The broker's store as its logic sees it: every operation answers with a Promise, so the same
// logic can run on the embedded SQLite file (sqlite-async-store.ts) or on a PostgreSQL server
// shared by several brokers (whose client is asynchronous).
//
// Transactions: store.transaction(async (tx) => ...) commits everything fn wrote, with its audit
// records, or nothing. A store call made while fn runs (on tx, or on the store itself from a
// function fn awaits) belongs to that transaction. fn must await nothing but the store: no
// network, no timers (a transaction holds the write lock while it waits).
import type { AccessRequest, AuditEvent, RequestState, SessionState } from '../../wire/api.js'
import type { AssetRecord, DeviceRecord, NewAuditEvent, Row, SessionRecord, UserRecord } from './records.js'

/** A value bound to a `?` of portable SQL. */
export type SqlValue = string | number | null

/** Reads, in portable SQL (see Store.query). */
export interface SqlReader {
  query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>
}

export interface AuditFilter {
  sessionId?: string
  requestId?: string
  actor?: string
  since?: string
  limit?: number
}

/**
 * What a transaction reads to decide and then writes: only what concerns this user and this asset
 * (with audit records). Transactions with a scope run beside those of other users and assets on a
 * database several brokers share, and one at a time with any that shares the user or the asset;
 * a transaction without one runs alone. The embedded store runs every transaction alone.
 */
export interface TransactionScope {
  user: string
  asset: string
}

export interface Store {
  /** Runs fn in one transaction (see the module header); transactions of one broker never interleave. */
  transaction<T>(fn: (tx: Store) => Promise<T>, scope?: TransactionScope): Promise<T>
  /** Settles once everything written so far is durable; undefined when nothing waits for a commit. */
  whenDurable(): Promise<void> | undefined
  close(): Promise<void>

  // portable SQL, for the feature modules' own tables (reviews, outbox, checkpoints, ...)
  /**
   * Runs one statement both stores read: `?` placeholders, `"user"` quoted, ON CONFLICT instead of
   * INSERT OR IGNORE, CAST(? AS NUMERIC) where a fractional value meets an integer column, no
   * dialect functions (min/max of two values: CASE). Integers come back as numbers; a comparison
   * selected as a column comes back as 1/0 or true/false (read it with `flag`, records.ts).
   * Inside a transaction it is part of it; outside, a write is a transaction of its own.
   */
  query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>
  /** As query, for writes: answers with the number of rows changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>
  /**
   * Runs fn on one consistent snapshot of what is committed, without holding up writers (a long
   * read: verifying or exporting the audit log, following the revocation stream). Rows of a
   * transaction or commit group still open are not seen.
   */
  snapshot<T>(fn: (read: SqlReader) => Promise<T>): Promise<T>

  // several brokers on one database
  /**
   * Wakes every onSignal(channel) listener, on this broker and on every other broker of the
   * database, once what was written so far (the running transaction included) is committed and
   * durable; a signal of a transaction that rolls back is never sent. A wake-up says "look again",
   * nothing more: the tables are the truth.
   */
  signal(channel: string): Promise<void>
  /**
   * Calls fn on each signal of channel; also when the store may have missed some (a listening
   * connection lost and made again). Answers with the function that stops listening.
   */
  onSignal(channel: string, fn: () => void): Promise<() => void>
  /**
   * Whether this broker holds the named duty (the expiry sweeper, the outbox, ...): one broker of
   * those on the database at a time, and another takes it over when that broker dies. The
   * embedded store has one broker: always true.
   */
  holdsDuty(name: string): Promise<boolean>

  // audit
  /** Appends to the hash chain; inside a transaction, so the link to the last record holds. */
  appendAudit(event: NewAuditEvent, at?: string): Promise<AuditEvent>
  /** An audited write in a transaction of its own. */
  audit(event: NewAuditEvent): Promise<AuditEvent>
  auditEvents(filter?: AuditFilter): Promise<AuditEvent[]>

  // users, devices, enrollment, verifiers
  upsertUser(user: UserRecord): Promise<void>
  getUser(name: string): Promise<UserRecord | undefined>
  listUsers(): Promise<UserRecord[]>
  addEnrollmentCode(codeHash: string, user: string, expiresAtEpoch: number): Promise<void>
  consumeEnrollmentCode(codeHash: string, nowEpoch: number): Promise<string | undefined>
  addDevice(device: DeviceRecord): Promise<void>
  getDevice(id: string): Promise<DeviceRecord | undefined>
  deviceJkt(id: string): Promise<string>
  revokeDevice(id: string): Promise<boolean>
  listDevices(user?: string): Promise<DeviceRecord[]>
  revokeUnusedEnrollmentCodes(user: string): Promise<number>
  /** Records an assertion id; false if it was seen before (a replay). */
  rememberAssertion(jti: string, expiresAtEpoch: number): Promise<boolean>
  forgetExpiredAssertions(nowEpoch: number): Promise<void>
  addVerifier(name: string, tokenHash: string): Promise<void>
  listVerifiers(): Promise<{ name: string; createdAt: string }[]>
  replaceVerifierToken(name: string, tokenHash: string): Promise<boolean>
  removeVerifier(name: string): Promise<boolean>
  verifierByTokenHash(tokenHash: string): Promise<string | undefined>

  // assets
  upsertAsset(asset: AssetRecord): Promise<void>
  getAsset(path: string): Promise<AssetRecord | undefined>
  listAssets(): Promise<AssetRecord[]>

  // requests
  saveRequest(request: AccessRequest): Promise<void>
  getRequest(id: string): Promise<AccessRequest | undefined>
  listRequests(filter: { user?: string; state?: RequestState; limit?: number }): Promise<AccessRequest[]>

  // sessions
  insertSession(session: SessionRecord): Promise<void>
  getSession(id: string, nowEpoch?: number): Promise<SessionRecord | undefined>
  listSessions(filter: { user?: string; deviceId?: string; asset?: string; activeOnly?: boolean }, nowEpoch?: number): Promise<SessionRecord[]>
  /** Ends an active session; false if it had already ended. */
  endSession(id: string, state: Exclude<SessionState, 'active'>, by: string, reason: string): Promise<boolean>
  sessionsPastExpiry(nowEpoch: number): Promise<string[]>
  markVerified(id: string): Promise<void>
  recordHeartbeat(id: string, atMs: number): Promise<boolean>
  extendSession(id: string, expiresAtEpoch: number): Promise<boolean>
  sessionByJti(jti: string, nowEpoch?: number): Promise<SessionRecord | undefined>
}
