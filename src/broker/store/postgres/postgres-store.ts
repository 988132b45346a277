// The broker's store (store.ts) on PostgreSQL, shared by several brokers. A transaction is one
// pooled client between BEGIN and COMMIT; a store call made while it runs (found through
// AsyncLocalStorage, as the interface requires) runs on that client, so it sees and commits with
// the rest of it. No process-wide queue: the database serialises what must be serialised.
//
// The audit chain: an append locks the single audit_high_water row (SELECT ... FOR UPDATE) inside
// its transaction, so appends of every broker on the database take turns and the chain never
// forks; the tail is read after the lock is held.
//
// Durability: commits are asynchronous (synchronous_commit=off on the broker's connections), so
// the chain-head lock that serialises transactions is released as soon as the commit is in the
// write-ahead log, not after its fsync; otherwise every broker's transactions would queue behind
// one disk flush each (tens of a second on an ordinary disk). No reply leaves before its writes are
// on disk all the same: whenDurable() runs a barrier, a small transaction with synchronous commit
// whose flush covers every commit made before it (PostgreSQL flushes the log in order), shared
// by every reply waiting at the time.
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash, randomBytes } from 'node:crypto'
import pg from 'pg'
import { GENESIS_HASH } from '../../../audit/chain.js'
import { nowIso } from '../../../util/ids.js'
import type { AuditEvent } from '../../../wire/api.js'
import { Store, type SqlReader, type SqlValue, type TransactionScope } from '../store.js'
import { AUDIT_COLUMNS, CHAIN_HEAD_ROW, chainedRecord, type NewAuditEvent, type Row } from '../records.js'
import { migratePostgres } from '../schema/migrate.js'
import type { Migration } from '../schema/migrations.js'
import { numberedPlaceholders } from './placeholders.js'
import { checkOut, clientConfig, connect, type DatabaseLogin } from './connection.js'

type Queryable = Pick<pg.ClientBase, 'query'>

interface OpenTransaction {
  store: PostgresStore
  client: pg.PoolClient
  open: boolean
  /** Savepoints opened inside it, to name the next one. */
  depth: number
  /**
   * The chain's head as this transaction holds it (read with the lock at BEGIN): the next append
   * links to it. The high water is raised once, with COMMIT; undefined after a savepoint rolled
   * back (read again).
   */
  head?: { seq: number; hash: string; highWater: number }
  /** Audit records appended and not yet written: they go in one INSERT, before COMMIT or anything that reads the audit table. */
  unwritten: unknown[][]
}

/** The first key of the two-key advisory locks that order transactions (see lockStatements). */
const TRANSACTION_LOCK_SPACE = 0x6a6975

/** A user's or an asset's lock key: 31 bits of a hash of its name, never 0 (the key every transaction shares). */
function lockKey(kind: 'user' | 'asset', name: string): number {
  return (createHash('sha256').update(`${kind}:${name}`).digest().readUInt32BE(0) >>> 1) || 1
}

/**
 * BEGIN and the transaction's locks, in one round trip (numbers only: nothing to escape). Without
 * a scope it takes key 0 alone (exclusive): it runs alone, as on the embedded store. With one it
 * shares key 0 and takes its user's and asset's keys, in ascending order so two transactions
 * never wait for each other in a circle. The chain's head is locked later, at the first append.
 */
function beginStatement(scope: TransactionScope | undefined): string {
  if (!scope) return `BEGIN; SELECT pg_advisory_xact_lock(${TRANSACTION_LOCK_SPACE}, 0)`
  const keys = [...new Set([lockKey('user', scope.user), lockKey('asset', scope.asset)])].sort((a, b) => a - b)
  return ['BEGIN', `SELECT pg_advisory_xact_lock_shared(${TRANSACTION_LOCK_SPACE}, 0)`, ...keys.map((key) => `SELECT pg_advisory_xact_lock(${TRANSACTION_LOCK_SPACE}, ${key})`)].join('; ')
}


/**
 * Locks the chain's head row, then reads the tail: two statements, so the tail is read on a
 * snapshot taken after the lock was granted (read in the locking statement itself, it could be
 * the one from before the wait, and two brokers would link to the same record).
 */
const LOCK_HEAD = 'SELECT seq AS high_water FROM audit_high_water WHERE id = 1 FOR UPDATE; SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'

/** Channels of signal(): prefixed, so jit's notifications never meet another application's. */
const channelName = (channel: string) => `jit_${channel.replace(/[^a-z0-9_]/gi, '_')}`
/** The first key of the two-key advisory locks behind holdsDuty (the second: the duty's name, hashed). */
const DUTY_LOCK_SPACE = 0x6a6974
const RECONNECT_MS = 500

export class PostgresStore extends Store {
  readonly #inside = new AsyncLocalStorage<OpenTransaction>()
  /** Portable SQL (`?`) turned into PostgreSQL's ($1, $2, ...), once per statement text. */
  readonly #statements = new Map<string, string>()
  readonly #listeners = new Map<string, Set<() => void>>()
  /** The connection that LISTENs, made when the first listener comes and again when it is lost. */
  #listener?: Promise<pg.Client>
  /** The connection whose session holds the duties' advisory locks: they end with it. */
  #duties?: { client: pg.Client; held: Set<string>; lost: boolean }
  /** The last holdsDuty call: the next waits for it. */
  #dutyTurn: Promise<unknown> = Promise.resolve()
  #closed = false
  /** Commits (and writes outside a transaction) made so far, and how many of them a barrier has made durable. */
  #commits = 0
  #durable = 0
  #barrierInFlight?: { covers: number; done: Promise<void> }
  #barrierQueued?: Promise<void>
  /** This broker's row in jit_durability_marks, which its barriers write. */
  readonly #mark = randomBytes(9).toString('base64url')
  #barriers = 0

  private constructor(
    readonly pool: pg.Pool,
    readonly login: DatabaseLogin,
  ) {
    super()
  }

  /** Connects (a failure in jit's words), applies the schema's migrations and opens a pool. */
  static async open(login: DatabaseLogin, options: { maxConnections?: number; migrations?: readonly Migration[] } = {}): Promise<PostgresStore> {
    const first = await connect(login)
    try {
      await migratePostgres(first, options.migrations)
      await first.query(CHAIN_HEAD_ROW)
    } finally {
      await first.end()
    }
    // Asynchronous commit on every pooled connection; durability comes from whenDurable()'s barrier.
    const pool = new pg.Pool({ ...clientConfig(login), options: '-c synchronous_commit=off', max: options.maxConnections ?? 10 })
    // An idle client the server drops emits 'error' on the pool; unhandled, that would crash the broker.
    pool.on('error', () => {})
    return new PostgresStore(pool, login)
  }

  #current(): OpenTransaction | undefined {
    const mark = this.#inside.getStore()
    return mark !== undefined && mark.store === this && mark.open ? mark : undefined
  }

  /** The running transaction's client, or the pool (each query its own transaction). */
  #db(): Queryable {
    return this.#current()?.client ?? this.pool
  }

  /** Every statement goes through here: a write outside a transaction is a commit of its own, for whenDurable(). */
  async #run(sql: string, params: unknown[]): Promise<pg.QueryResult> {
    const inside = this.#current()
    if (inside && inside.unwritten.length > 0 && /audit/i.test(sql)) await this.#writeAudit(inside)
    const result = await (inside?.client ?? this.pool).query(sql, params)
    if (!inside && !/^\s*SELECT\b/i.test(sql)) this.#commits++
    return result
  }

  /**
   * Transactions are ordered by advisory locks taken at BEGIN (beginStatement): without a scope,
   * one at a time across every broker, as SQLite's one writer gives the embedded broker, so the
   * gate's reads (exclusive holders, pending requests, standing) hold until the writes they allow
   * commit; with a scope, one at a time per user and per asset. A nested call is a savepoint of
   * the running transaction (its scope is the outer one's).
   */
  async transaction<T>(fn: (tx: Store) => Promise<T>, scope?: TransactionScope): Promise<T> {
    const outer = this.#current()
    if (outer) return this.#nested(outer, fn)
    const { client, release } = await checkOut(this.pool)
    const mark: OpenTransaction = { store: this, client, open: true, depth: 0, unwritten: [] }
    let broken = false
    try {
      return await this.#inside.run(mark, async () => {
        await client.query(beginStatement(scope)).catch((error: Error) => {
          broken = true
          throw error
        })
        let result: T
        try {
          result = await fn(this)
        } catch (error) {
          mark.open = false
          await client.query('ROLLBACK').catch(() => void (broken = true))
          throw error
        }
        try {
          await this.#writeAudit(mark)
          mark.open = false
          await client.query('COMMIT')
          this.#commits++
        } catch (error) {
          mark.open = false
          await client.query('ROLLBACK').catch(() => void (broken = true))
          throw error
        }
        return result
      })
    } finally {
      // A client whose rollback failed may hold a half-open transaction: drop it, never reuse it.
      release(broken)
    }
  }

  /** A transaction begun inside another: its own savepoint, so it still rolls back alone. */
  async #nested<T>(outer: OpenTransaction, fn: (tx: Store) => Promise<T>): Promise<T> {
    const name = `nested_${++outer.depth}`
    // Records appended before it are written first: a rollback to it drops only its own.
    await this.#writeAudit(outer)
    await outer.client.query(`SAVEPOINT ${name}`)
    let result: T
    try {
      result = await fn(this)
    } catch (error) {
      await outer.client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`)
      // Its appends are gone, and the head's lock too if it was taken inside: read (and lock) it again.
      outer.unwritten = []
      outer.head = undefined
      throw error
    }
    await outer.client.query(`RELEASE SAVEPOINT ${name}`)
    return result
  }

  /** Settles once every commit made so far is on disk (see the module header); undefined when they all are. */
  whenDurable(): Promise<void> | undefined {
    if (this.#durable >= this.#commits) return undefined
    const target = this.#commits
    if (this.#barrierInFlight && this.#barrierInFlight.covers >= target) return this.#barrierInFlight.done
    // The next barrier starts when the one in flight ends, and covers every commit made by then.
    this.#barrierQueued ??= (this.#barrierInFlight?.done ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        this.#barrierQueued = undefined
        const covers = this.#commits
        const done = this.#barrier().then(() => void (this.#durable = Math.max(this.#durable, covers)))
        const inFlight = { covers, done }
        this.#barrierInFlight = inFlight
        done.then(
          () => void (this.#barrierInFlight === inFlight && (this.#barrierInFlight = undefined)),
          () => void (this.#barrierInFlight === inFlight && (this.#barrierInFlight = undefined)),
        )
        return done
      })
    return this.#barrierQueued
  }

  /** A write with synchronous commit: when it returns, the log is flushed past every earlier commit. */
  async #barrier(): Promise<void> {
    const n = ++this.#barriers
    await this.pool.query(
      `BEGIN; SET LOCAL synchronous_commit TO on; INSERT INTO jit_durability_marks (broker, n) VALUES ('${this.#mark}', ${n}) ON CONFLICT (broker) DO UPDATE SET n = excluded.n; COMMIT`,
    )
  }

  async close(): Promise<void> {
    // What this broker (or operator command) committed is on disk before it lets go.
    await this.whenDurable()?.catch(() => {})
    await this.pool.query('DELETE FROM jit_durability_marks WHERE broker = $1', [this.#mark]).catch(() => {})
    this.#closed = true
    const listener = this.#listener
    this.#listener = undefined
    await listener?.then((client) => client.end(), () => {}).catch(() => {})
    await this.#duties?.client.end().catch(() => {})
    this.#duties = undefined
    await this.pool.end()
  }

  // ---- portable SQL -----------------------------------------------------------------------

  #text(sql: string): string {
    let text = this.#statements.get(sql)
    if (text === undefined) {
      text = numberedPlaceholders(sql)
      this.#statements.set(sql, text)
    }
    return text
  }

  async query(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return (await this.#run(this.#text(sql), params as SqlValue[])).rows as Row[]
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#run(this.#text(sql), params as SqlValue[])).rowCount ?? 0
  }

  /** A read-only REPEATABLE READ transaction: one snapshot, and no lock that writers wait for. */
  async snapshot<T>(fn: (read: SqlReader) => Promise<T>): Promise<T> {
    const { client, release } = await checkOut(this.pool)
    let broken = false
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      try {
        return await fn({ query: async (sql, params = []) => (await client.query(this.#text(sql), params as SqlValue[])).rows as Row[] })
      } finally {
        await client.query('ROLLBACK').catch(() => void (broken = true))
      }
    } finally {
      release(broken)
    }
  }

  // ---- several brokers ----------------------------------------------------------------------

  /** NOTIFY inside the running transaction: PostgreSQL delivers it at commit, and drops it on rollback. */
  async signal(channel: string): Promise<void> {
    await this.#db().query('SELECT pg_notify($1, \'\')', [channelName(channel)])
  }

  async onSignal(channel: string, fn: () => void): Promise<() => void> {
    const name = channelName(channel)
    let set = this.#listeners.get(name)
    if (!set) {
      set = new Set()
      this.#listeners.set(name, set)
      const client = await this.#listening()
      await client.query(`LISTEN ${name}`)
    }
    set.add(fn)
    return () => void this.#listeners.get(name)?.delete(fn)
  }

  /** The listening connection; when it is lost, a new one listens again and every listener is woken (signals may have been missed). */
  #listening(): Promise<pg.Client> {
    this.#listener ??= (async () => {
      const client = await connect(this.login)
      client.on('notification', (message) => {
        for (const fn of this.#listeners.get(message.channel) ?? []) fn()
      })
      const lost = () => {
        if (this.#closed || this.#listener === undefined) return
        this.#listener = undefined
        client.removeAllListeners('end')
        client.end().catch(() => {})
        void this.#relisten()
      }
      client.on('error', lost)
      client.on('end', lost)
      return client
    })()
    const pending = this.#listener
    pending.catch(() => {
      if (this.#listener === pending) this.#listener = undefined
    })
    return pending
  }

  async #relisten(): Promise<void> {
    while (!this.#closed) {
      try {
        const client = await this.#listening()
        for (const name of this.#listeners.keys()) await client.query(`LISTEN ${name}`)
        for (const set of this.#listeners.values()) for (const fn of set) fn()
        return
      } catch {
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS).unref())
      }
    }
  }

  /**
   * A session-level advisory lock per duty, on one connection of this broker's: held until the
   * broker stops or dies (the server then drops the connection and the lock), tried again by
   * every other broker at each of its sweeps.
   */
  holdsDuty(name: string): Promise<boolean> {
    // One at a time: two callers (the sweeper, the ticket watch) must not each open a connection,
    // or a lock would be held by one this store no longer asks through, and the duty run by nobody.
    const asked = this.#dutyTurn.then(() => this.#holdsDuty(name))
    this.#dutyTurn = asked.catch(() => {})
    return asked
  }

  async #holdsDuty(name: string): Promise<boolean> {
    if (this.#closed) return false
    if (this.#duties?.lost) {
      this.#duties.client.end().catch(() => {})
      this.#duties = undefined
    }
    if (!this.#duties) {
      const client = await connect(this.login)
      const duties = { client, held: new Set<string>(), lost: false }
      const lost = () => {
        duties.lost = true
        duties.held.clear()
      }
      client.on('error', lost)
      client.on('end', lost)
      this.#duties = duties
    }
    const duties = this.#duties
    // Held while the session lives: a round trip proves it still does (a connection the server
    // ended may not have told us yet, and another broker may already run the duty).
    if (duties.held.has(name)) {
      await duties.client.query('SELECT 1').catch(() => void (duties.lost = true))
      if (duties.lost) duties.held.clear()
      return duties.held.has(name)
    }
    const row = (await duties.client.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS held', [DUTY_LOCK_SPACE, name])).rows[0] as { held: boolean }
    if (row.held && !duties.lost) duties.held.add(name)
    return duties.held.has(name)
  }

  // ---- audit ----------------------------------------------------------------------------

  appendAudit(event: NewAuditEvent, at = nowIso()): Promise<AuditEvent> {
    if (!this.#current()) return this.transaction(() => this.appendAudit(event, at))
    return this.#append(event, at)
  }

  async #append(event: NewAuditEvent, at: string): Promise<AuditEvent> {
    // The head row's lock, taken at the first append, is held until this transaction ends: every
    // broker's next append waits for it, and then reads the tail this one wrote.
    const mark = this.#current()!
    if (!mark.head) {
      const [high, tail] = (await mark.client.query(LOCK_HEAD)) as unknown as pg.QueryResult[]
      const head = headOf(high.rows[0], tail.rows[0])
      // A rolled-back savepoint may have raised the high water only in memory: what the table says, or the tail.
      mark.head = { ...head, highWater: Math.max(head.highWater, head.seq) }
    }
    const { record, row } = chainedRecord(event, at, Math.max(mark.head.seq, mark.head.highWater) + 1, mark.head.hash)
    mark.unwritten.push(row)
    mark.head = { seq: record.seq, hash: record.hash, highWater: record.seq }
    return record
  }

  /** Writes the appended records in one statement, raising the high water with them. */
  async #writeAudit(mark: OpenTransaction): Promise<void> {
    if (mark.unwritten.length === 0) return
    const all = mark.unwritten
    mark.unwritten = []
    // At most 1000 records a statement: PostgreSQL takes 65,535 parameters at most.
    for (let at = 0; at < all.length; at += 1000) {
      const rows = all.slice(at, at + 1000)
      const width = rows[0].length
      const values = rows.map((_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(',')})`).join(',')
      await mark.client.query(
        `WITH written AS (INSERT INTO audit (${AUDIT_COLUMNS}) VALUES ${values} RETURNING seq) UPDATE audit_high_water SET seq = GREATEST(seq, (SELECT max(seq) FROM written)) WHERE id = 1`,
        rows.flat(),
      )
    }
  }

}



function headOf(high: Row | undefined, tail: Row | undefined): { seq: number; hash: string; highWater: number } {
  if (!high) throw new Error('The audit chain\'s head row is missing (audit_high_water).')
  return { seq: Number(tail?.seq ?? 0), hash: (tail?.hash as string | undefined) ?? GENESIS_HASH, highWater: Number(high.high_water) }
}
