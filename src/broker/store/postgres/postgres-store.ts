// The broker's store (store.ts) on PostgreSQL, shared by several brokers. A transaction is one
// pooled client between BEGIN and COMMIT; a store call made while it runs (found through
// AsyncLocalStorage, as the interface requires) runs on that client, so it sees and commits with
// the rest of it. No process-wide queue: the database serialises what must be serialised.
//
// The audit chain: an append locks the single audit_high_water row (SELECT ... FOR UPDATE) inside
// its transaction, so appends of every broker on the database take turns and the chain never
// forks; the tail is read after the lock is held. The replay cache is the seen_assertions
// primary key: an assertion id inserted by any broker is a replay on every other.
//
// Durability: commits are asynchronous (synchronous_commit=off on the broker's connections), so
// the chain-head lock that serialises transactions is released as soon as the commit is in the
// write-ahead log, not after its fsync; otherwise every broker's transactions would queue behind
// one disk flush each (tens of a second on an ordinary disk). No reply leaves before its writes are
// on disk all the same: whenDurable() runs a barrier, a small transaction with synchronous commit
// whose flush covers every commit made before it (PostgreSQL flushes the log in order), shared
// by every reply waiting at the time. Epoch values compared
// with BIGINT columns are cast to numeric: the broker passes fractional seconds (Date.now() / 1000),
// which PostgreSQL refuses as a bigint.
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash, randomBytes } from 'node:crypto'
import pg from 'pg'
import { GENESIS_HASH } from '../../../audit/chain.js'
import { nowIso } from '../../../util/ids.js'
import type { AccessRequest, AuditEvent, RequestState, SessionState } from '../../../wire/api.js'
import type { AuditFilter, SqlReader, SqlValue, Store, TransactionScope } from '../store.js'
import type { AssetRecord, DeviceRecord, NewAuditEvent, SessionRecord, UserRecord } from '../records.js'
import { AUDIT_COLUMNS, chainedRecord, int, toAuditEvent, toSession, type Row } from '../records.js'
import { applyMigrations } from './schema.js'
import { clientConfig, connect, type DatabaseLogin } from './connection.js'

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

export class PostgresStore implements Store {
  readonly #inside = new AsyncLocalStorage<OpenTransaction>()
  readonly #deviceJkts = new Map<string, string>()
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
  ) {}

  /** Connects (a failure in jit's words), applies the schema's migrations and opens a pool. */
  static async open(login: DatabaseLogin, options: { maxConnections?: number } = {}): Promise<PostgresStore> {
    const first = await connect(login)
    try {
      await applyMigrations(first)
      // The chain's head row, which every append locks; a fresh database has none yet.
      await first.query('INSERT INTO audit_high_water (id, seq) SELECT 1, COALESCE(max(seq), 0) FROM audit ON CONFLICT (id) DO NOTHING')
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

  async #rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.#run(sql, params)).rows as Row[]
  }

  async #changed(sql: string, params: unknown[]): Promise<number> {
    return (await this.#run(sql, params)).rowCount ?? 0
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
    const client = await this.pool.connect()
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
      client.release(broken)
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
      let n = 0
      // A ? outside quotes is a placeholder; the portable statements quote no question mark.
      text = sql.replace(/'[^']*'|\?/g, (match) => (match === '?' ? `$${++n}` : match))
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
    const client = await this.pool.connect()
    let broken = false
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      try {
        return await fn({ query: async (sql, params = []) => (await client.query(this.#text(sql), params as SqlValue[])).rows as Row[] })
      } finally {
        await client.query('ROLLBACK').catch(() => void (broken = true))
      }
    } finally {
      client.release(broken)
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

  audit(event: NewAuditEvent): Promise<AuditEvent> {
    return this.transaction(() => this.appendAudit(event))
  }

  async auditEvents(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    const where: string[] = []
    const params: (string | number)[] = []
    const next = (value: string | number) => `$${params.push(value)}`
    if (filter.sessionId) where.push(`(session_id = ${next(filter.sessionId)} OR request_id = (SELECT request_id FROM sessions WHERE id = ${next(filter.sessionId)}))`)
    if (filter.requestId) where.push(`request_id = ${next(filter.requestId)}`)
    if (filter.actor) where.push(`(actor = ${next(filter.actor)} OR request_id IN (SELECT id FROM requests WHERE "user" = ${next(filter.actor)}))`)
    if (filter.since) where.push(`at >= ${next(filter.since)}`)
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq${filter.limit ? ` LIMIT ${Math.floor(filter.limit)}` : ''}`
    return (await this.#rows(sql, params)).map(toAuditEvent)
  }

  // ---- users, devices, enrollment -----------------------------------------------------------

  async upsertUser(user: UserRecord): Promise<void> {
    await this.#rows('INSERT INTO users (name, roles, org, disabled, created_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (name) DO UPDATE SET roles = excluded.roles, org = excluded.org, disabled = excluded.disabled', [
      user.name, JSON.stringify(user.roles), user.org ?? null, user.disabled ? 1 : 0, nowIso(),
    ])
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const row = (await this.#rows('SELECT * FROM users WHERE name = $1', [name]))[0]
    return row && toUser(row)
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.#rows('SELECT * FROM users ORDER BY name')).map(toUser)
  }

  async addEnrollmentCode(codeHash: string, user: string, expiresAtEpoch: number): Promise<void> {
    await this.#rows('INSERT INTO enrollment_codes (code_hash, "user", expires_at) VALUES ($1,$2,$3)', [codeHash, user, expiresAtEpoch])
  }

  async consumeEnrollmentCode(codeHash: string, nowEpoch: number): Promise<string | undefined> {
    const row = (await this.#rows('UPDATE enrollment_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $3::numeric RETURNING "user"', [nowIso(), codeHash, nowEpoch]))[0]
    return row?.user as string | undefined
  }

  async addDevice(device: DeviceRecord): Promise<void> {
    await this.#rows('INSERT INTO devices (id, "user", name, public_jwk, jkt, created_at) VALUES ($1,$2,$3,$4,$5,$6)', [
      device.id, device.user, device.name, JSON.stringify(device.publicJwk), device.jkt, device.createdAt,
    ])
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    const row = (await this.#rows('SELECT * FROM devices WHERE id = $1', [id]))[0]
    return row && toDevice(row)
  }

  /** A device's key thumbprint: fixed at enrollment, so it is remembered (revocation is never read from here). */
  async deviceJkt(id: string): Promise<string> {
    let jkt = this.#deviceJkts.get(id)
    if (jkt === undefined) {
      jkt = (await this.#rows('SELECT jkt FROM devices WHERE id = $1', [id]))[0]?.jkt as string | undefined
      if (jkt === undefined) throw new Error(`No device ${id}.`)
      if (this.#deviceJkts.size >= 10_000) this.#deviceJkts.clear()
      this.#deviceJkts.set(id, jkt)
    }
    return jkt
  }

  async revokeDevice(id: string): Promise<boolean> {
    return (await this.#changed('UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [nowIso(), id])) > 0
  }

  async listDevices(user?: string): Promise<DeviceRecord[]> {
    const rows = user ? await this.#rows('SELECT * FROM devices WHERE "user" = $1 ORDER BY created_at', [user]) : await this.#rows('SELECT * FROM devices ORDER BY "user", created_at')
    return rows.map(toDevice)
  }

  async revokeUnusedEnrollmentCodes(user: string): Promise<number> {
    return this.#changed('UPDATE enrollment_codes SET used_at = \'revoked:\' || $1 WHERE "user" = $2 AND used_at IS NULL', [nowIso(), user])
  }

  async rememberAssertion(jti: string, expiresAtEpoch: number): Promise<boolean> {
    return (await this.#changed('INSERT INTO seen_assertions (jti, expires_at) VALUES ($1,$2) ON CONFLICT (jti) DO NOTHING', [jti, expiresAtEpoch])) > 0
  }

  async forgetExpiredAssertions(nowEpoch: number): Promise<void> {
    await this.#rows('DELETE FROM seen_assertions WHERE expires_at < $1::numeric', [nowEpoch])
  }

  async addVerifier(name: string, tokenHash: string): Promise<void> {
    await this.#rows('INSERT INTO verifiers (name, token_hash, created_at) VALUES ($1,$2,$3)', [name, tokenHash, nowIso()])
  }

  async listVerifiers(): Promise<{ name: string; createdAt: string }[]> {
    return (await this.#rows('SELECT name, created_at FROM verifiers ORDER BY name')).map((row) => ({ name: row.name as string, createdAt: row.created_at as string }))
  }

  async replaceVerifierToken(name: string, tokenHash: string): Promise<boolean> {
    return (await this.#changed('UPDATE verifiers SET token_hash = $1 WHERE name = $2', [tokenHash, name])) > 0
  }

  async removeVerifier(name: string): Promise<boolean> {
    return (await this.#changed('DELETE FROM verifiers WHERE name = $1', [name])) > 0
  }

  async verifierByTokenHash(tokenHash: string): Promise<string | undefined> {
    return (await this.#rows('SELECT name FROM verifiers WHERE token_hash = $1', [tokenHash]))[0]?.name as string | undefined
  }

  // ---- assets ---------------------------------------------------------------------------------

  async upsertAsset(asset: AssetRecord): Promise<void> {
    await this.#rows('INSERT INTO assets (path, attributes) VALUES ($1,$2) ON CONFLICT (path) DO UPDATE SET attributes = excluded.attributes', [asset.path, JSON.stringify(asset.attributes)])
  }

  async getAsset(path: string): Promise<AssetRecord | undefined> {
    const row = (await this.#rows('SELECT * FROM assets WHERE path = $1', [path]))[0]
    return row && { path: row.path as string, attributes: JSON.parse(row.attributes as string) }
  }

  async listAssets(): Promise<AssetRecord[]> {
    return (await this.#rows('SELECT * FROM assets ORDER BY path')).map((row) => ({ path: row.path as string, attributes: JSON.parse(row.attributes as string) }))
  }

  // ---- requests -------------------------------------------------------------------------------

  async saveRequest(request: AccessRequest): Promise<void> {
    await this.#rows('INSERT INTO requests (id, body, "user", state, created_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (id) DO UPDATE SET body = excluded.body, state = excluded.state', [
      request.id, JSON.stringify(request), request.user, request.state, request.createdAt,
    ])
  }

  async getRequest(id: string): Promise<AccessRequest | undefined> {
    const row = (await this.#rows('SELECT body FROM requests WHERE id = $1', [id]))[0]
    return row && JSON.parse(row.body as string)
  }

  async listRequests(filter: { user?: string; state?: RequestState; limit?: number }): Promise<AccessRequest[]> {
    const where: string[] = []
    const params: string[] = []
    if (filter.user) where.push(`"user" = $${params.push(filter.user)}`)
    if (filter.state) where.push(`state = $${params.push(filter.state)}`)
    const sql = `SELECT body FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ${Math.floor(filter.limit ?? 200)}`
    return (await this.#rows(sql, params)).map((row) => JSON.parse(row.body as string))
  }

  // ---- sessions -------------------------------------------------------------------------------

  async insertSession(session: SessionRecord): Promise<void> {
    await this.#rows('INSERT INTO sessions (id, request_id, "user", device_id, asset, ticket, scope, kind, jti, issued_at, expires_at, cache_allowed, state) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)', [
      session.id, session.requestId, session.user, session.deviceId, session.asset, session.ticket, session.scope, session.kind, session.jti,
      session.issuedAtEpoch, session.expiresAtEpoch, session.cacheAllowed ? 1 : 0, 'active',
    ])
  }

  async getSession(id: string, nowEpoch = Date.now() / 1000): Promise<SessionRecord | undefined> {
    const row = (await this.#rows('SELECT * FROM sessions WHERE id = $1', [id]))[0]
    return row && toSession(row, nowEpoch)
  }

  async listSessions(filter: { user?: string; deviceId?: string; asset?: string; activeOnly?: boolean }, nowEpoch = Date.now() / 1000): Promise<SessionRecord[]> {
    const where: string[] = []
    const params: (string | number)[] = []
    for (const [column, value] of [['"user"', filter.user], ['device_id', filter.deviceId], ['asset', filter.asset]] as const) {
      if (value) where.push(`${column} = $${params.push(value)}`)
    }
    if (filter.activeOnly) where.push(`state = 'active' AND expires_at > $${params.push(nowEpoch)}::numeric`)
    const sql = `SELECT * FROM sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY issued_at DESC LIMIT 500`
    return (await this.#rows(sql, params)).map((row) => toSession(row, nowEpoch))
  }

  async endSession(id: string, state: Exclude<SessionState, 'active'>, by: string, reason: string): Promise<boolean> {
    return (await this.#changed("UPDATE sessions SET state = $1, ended_at = $2, ended_by = $3, end_reason = $4 WHERE id = $5 AND state = 'active'", [state, nowIso(), by, reason, id])) > 0
  }

  async sessionsPastExpiry(nowEpoch: number): Promise<string[]> {
    return (await this.#rows("SELECT id FROM sessions WHERE state = 'active' AND expires_at <= $1::numeric", [nowEpoch])).map((row) => row.id as string)
  }

  async markVerified(id: string): Promise<void> {
    await this.#rows('UPDATE sessions SET last_verified_at = $1 WHERE id = $2', [nowIso(), id])
  }

  async recordHeartbeat(id: string, atMs: number): Promise<boolean> {
    return (await this.#changed("UPDATE sessions SET heartbeat_at = $1 WHERE id = $2 AND state = 'active'", [atMs, id])) > 0
  }

  async extendSession(id: string, expiresAtEpoch: number): Promise<boolean> {
    return (await this.#changed("UPDATE sessions SET expires_at = $1 WHERE id = $2 AND state = 'active'", [expiresAtEpoch, id])) > 0
  }

  async sessionByJti(jti: string, nowEpoch = Date.now() / 1000): Promise<SessionRecord | undefined> {
    const row = (await this.#rows('SELECT * FROM sessions WHERE jti = $1', [jti]))[0]
    return row && toSession(row, nowEpoch)
  }
}



function headOf(high: Row | undefined, tail: Row | undefined): { seq: number; hash: string; highWater: number } {
  if (!high) throw new Error('The audit chain\'s head row is missing (audit_high_water).')
  return { seq: Number(tail?.seq ?? 0), hash: (tail?.hash as string | undefined) ?? GENESIS_HASH, highWater: Number(high.high_water) }
}

function toUser(row: Row): UserRecord {
  return { name: row.name as string, roles: JSON.parse(row.roles as string), org: (row.org as string) ?? undefined, disabled: int(row.disabled) === 1 }
}

function toDevice(row: Row): DeviceRecord {
  return {
    id: row.id as string, user: row.user as string, name: row.name as string, publicJwk: JSON.parse(row.public_jwk as string), jkt: row.jkt as string,
    createdAt: row.created_at as string, revokedAt: (row.revoked_at as string) ?? undefined,
  }
}


