// The broker's store as its logic sees it: every operation answers with a Promise, so the same
// logic can run on the embedded SQLite file (sqlite-async-store.ts) or on a PostgreSQL server
// shared by several brokers (whose client is asynchronous).
//
// Transactions: store.transaction(async (tx) => ...) commits everything fn wrote, with its audit
// records, or nothing. A store call made while fn runs (on tx, or on the store itself from a
// function fn awaits) belongs to that transaction. fn must await nothing but the store: no
// network, no timers (a transaction holds the write lock while it waits).
//
// Domain reads and writes are written once, in the repositories (repositories/), over the
// portable query/execute; each engine implements only the abstract members below.
import type { AuditEvent } from '../../wire/api.js'
import type { NewAuditEvent, Row } from './records.js'
import type { Sql, SqlReader, SqlValue } from './sql.js'
import { Assets } from './repositories/assets.js'
import { AuditLog } from './repositories/audit-log.js'
import { Devices } from './repositories/devices.js'
import { Requests } from './repositories/requests.js'
import { SeenAssertions } from './repositories/seen-assertions.js'
import { Sessions } from './repositories/sessions.js'
import { OidcIdentities } from './repositories/oidc-identities.js'
import { EnrollmentCodes, Users } from './repositories/users.js'
import { Workloads } from './repositories/workloads.js'
import { Verifiers } from './repositories/verifiers.js'

export type { AuditFilter } from './repositories/audit-log.js'

export type { Sql, SqlReader, SqlValue } from './sql.js'

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

export abstract class Store implements Sql {
  // the broker's domain, written once over query/execute (a call inside a transaction is part of it)
  readonly users = new Users(this)
  readonly enrollmentCodes = new EnrollmentCodes(this)
  readonly devices = new Devices(this)
  readonly seenAssertions = new SeenAssertions(this)
  readonly verifiers = new Verifiers(this)
  readonly assets = new Assets(this)
  readonly requests = new Requests(this)
  readonly sessions = new Sessions(this)
  readonly auditLog = new AuditLog(this)
  readonly oidcIdentities = new OidcIdentities(this)
  readonly workloads = new Workloads(this)

  /** Runs fn in one transaction (see the module header); transactions of one broker never interleave. */
  abstract transaction<T>(fn: (tx: Store) => Promise<T>, scope?: TransactionScope): Promise<T>
  /** Settles once everything written so far is durable; undefined when nothing waits for a commit. */
  abstract whenDurable(): Promise<void> | undefined
  abstract close(): Promise<void>

  // portable SQL, for the repositories and the feature modules' own tables (reviews, outbox, checkpoints, ...)
  /**
   * Runs one statement both stores read: `?` placeholders, `"user"` quoted, ON CONFLICT instead of
   * INSERT OR IGNORE, CAST(? AS NUMERIC) where a fractional value meets an integer column, no
   * dialect functions (min/max of two values: CASE). Integers come back as numbers; a comparison
   * selected as a column comes back as 1/0 or true/false (read it with `flag`, records.ts).
   * Inside a transaction it is part of it; outside, a write is a transaction of its own.
   */
  abstract query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>
  /** As query, for writes: answers with the number of rows changed. */
  abstract execute(sql: string, params?: readonly SqlValue[]): Promise<number>
  /**
   * Runs fn on one consistent snapshot of what is committed, without holding up writers (a long
   * read: verifying or exporting the audit log, following the revocation stream). Rows of a
   * transaction or commit group still open are not seen.
   */
  abstract snapshot<T>(fn: (read: SqlReader) => Promise<T>): Promise<T>

  // several brokers on one database
  /**
   * Wakes every onSignal(channel) listener, on this broker and on every other broker of the
   * database, once what was written so far (the running transaction included) is committed and
   * durable; a signal of a transaction that rolls back is never sent. A wake-up says "look again",
   * nothing more: the tables are the truth.
   */
  abstract signal(channel: string): Promise<void>
  /**
   * Calls fn on each signal of channel; also when the store may have missed some (a listening
   * connection lost and made again). Answers with the function that stops listening.
   */
  abstract onSignal(channel: string, fn: () => void): Promise<() => void>
  /**
   * Whether this broker holds the named duty (the expiry sweeper, the outbox, ...): one broker of
   * those on the database at a time, and another takes it over when that broker dies. The
   * embedded store has one broker: always true.
   */
  abstract holdsDuty(name: string): Promise<boolean>

  // the audit chain
  /** Appends to the hash chain; inside a transaction, so the link to the last record holds. */
  abstract appendAudit(event: NewAuditEvent, at?: string): Promise<AuditEvent>
  /** An audited write in a transaction of its own. */
  audit(event: NewAuditEvent): Promise<AuditEvent> {
    return this.transaction((tx) => tx.appendAudit(event))
  }
}
