// The broker's store (store.ts) on the embedded SQLite file: the engine (sqlite-store.ts) made
// asynchronous. node:sqlite is synchronous, so every call runs at once; what this adds is the
// order: one transaction at a time. A transaction body awaits between its calls, and another
// request's transaction starting in such a gap could see and act on half of it (check-then-insert
// races the synchronous broker could not have). So transactions, and the calls made outside any,
// wait in one queue; a call made inside the running transaction (found through AsyncLocalStorage)
// runs in it at once.
//
// Group commit and "no reply before durable" stay as in sqlite-store.ts: a transaction is a
// savepoint of the event-loop turn's group, and the group commits only between transactions.
import { AsyncLocalStorage } from 'node:async_hooks'
import { EventEmitter } from 'node:events'
import { DatabaseSync } from 'node:sqlite'
import type { AuditEvent } from '../../wire/api.js'
import type { NewAuditEvent, Row } from './records.js'
import { Store, type SqlReader, type SqlValue, type TransactionScope } from './store.js'
import { SqliteStore } from './sqlite-store.js'

interface OpenTransaction {
  store: SqliteAsyncStore
  open: boolean
  /** Channels signalled inside it: sent once it commits and is durable, never if it rolls back. */
  signals?: Set<string>
}

export class SqliteAsyncStore extends Store {
  /**
   * The transaction running now, for calls made from inside it. Work it set off that outlives it
   * (a timer, a notification) inherits the context too, so the mark says whether it is still open.
   */
  readonly #inside = new AsyncLocalStorage<OpenTransaction>()
  readonly #signals = new EventEmitter().setMaxListeners(0)
  /** Read-only connections for snapshots, kept for the next one. */
  readonly #readers: DatabaseSync[] = []
  /** The tail of the queue: settles when the last queued transaction or call is done. */
  #tail: Promise<unknown> = Promise.resolve()
  /** Queued jobs not yet settled; with none, a job starts at once (nothing can be ahead of it). */
  #pending = 0

  constructor(readonly sqlite: SqliteStore) {
    super()
  }

  /** Every transaction runs alone here (the queue): a scope changes nothing. */
  transaction<T>(fn: (tx: Store) => Promise<T>, _scope?: TransactionScope): Promise<T> {
    // Inside the running transaction: part of it (the synchronous store nests it as a savepoint).
    if (this.#isInside()) return this.#nested(fn)
    return this.#queued(() => {
      const mark: OpenTransaction = { store: this, open: true }
      return this.#inside.run(mark, async () => {
        this.sqlite.beginTransaction()
        let result: T
        try {
          result = await fn(this)
        } catch (error) {
          mark.open = false
          this.sqlite.endTransaction(false)
          throw error
        }
        mark.open = false
        this.sqlite.endTransaction(true)
        if (mark.signals) this.#sendWhenDurable(mark.signals)
        return result
      })
    })
  }

  async #nested<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    this.sqlite.beginNested()
    let result: T
    try {
      result = await fn(this)
    } catch (error) {
      this.sqlite.endNested(false)
      throw error
    }
    this.sqlite.endNested(true)
    return result
  }

  #isInside(): boolean {
    const mark = this.#inside.getStore()
    return mark !== undefined && mark.store === this && mark.open
  }

  /** Runs job after everything queued before it; a failure is its caller's alone. */
  #queued<T>(job: () => Promise<T>): Promise<T> {
    const idle = this.#pending === 0
    this.#pending++
    const run = idle ? job() : this.#tail.then(job, job)
    this.#tail = run.then(
      () => void this.#pending--,
      () => void this.#pending--,
    )
    return run
  }

  /** One synchronous call of the SQLite store: at once inside the running transaction or when nothing waits, else in the queue. */
  #call<T>(fn: () => T): Promise<T> {
    // Inside the running transaction, or with nothing running or queued: at once.
    if (this.#pending === 0 || this.#isInside()) {
      try {
        return Promise.resolve(fn())
      } catch (error) {
        return Promise.reject(error)
      }
    }
    return this.#queued(async () => fn())
  }

  whenDurable(): Promise<void> | undefined {
    return this.sqlite.whenDurable()
  }

  async close(): Promise<void> {
    await this.#tail
    for (const reader of this.#readers.splice(0)) reader.close()
    this.sqlite.close()
  }

  query(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.#call(() => this.sqlite.statement(sql).all(...params) as Row[])
  }

  execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#call(() => this.sqlite.transaction(() => Number(this.sqlite.statement(sql).run(...params).changes)))
  }

  /** On a read-only connection of its own: WAL gives it the last commit, never the open group. */
  async snapshot<T>(fn: (read: SqlReader) => Promise<T>): Promise<T> {
    const db = this.#readers.pop() ?? new DatabaseSync(this.sqlite.file, { readOnly: true })
    db.exec('BEGIN')
    try {
      return await fn({ query: async (sql, params = []) => db.prepare(sql).all(...params) as Row[] })
    } finally {
      db.exec('ROLLBACK')
      if (this.sqlite.db.isOpen && this.#readers.length < 4) this.#readers.push(db)
      else db.close()
    }
  }

  async signal(channel: string): Promise<void> {
    const mark = this.#inside.getStore()
    if (mark && mark.store === this && mark.open) (mark.signals ??= new Set()).add(channel)
    else this.#sendWhenDurable(new Set([channel]))
  }

  async onSignal(channel: string, fn: () => void): Promise<() => void> {
    this.#signals.on(channel, fn)
    return () => void this.#signals.off(channel, fn)
  }

  /** One broker on the file: every duty is its own. */
  async holdsDuty(_name: string): Promise<boolean> {
    return true
  }

  #sendWhenDurable(channels: Set<string>): void {
    const send = () => {
      for (const channel of channels) this.#signals.emit(channel)
    }
    const durable = this.whenDurable()
    if (durable) durable.then(send, () => {})
    else send()
  }

  appendAudit(event: NewAuditEvent, at?: string): Promise<AuditEvent> {
    return this.#call(() => this.sqlite.appendAudit(event, at))
  }
}

/** The embedded store behind a broker's store, for what only a SQLite file has (its engine, its file). */
export function sqliteOf(store: Store): SqliteAsyncStore {
  if (store instanceof SqliteAsyncStore) return store
  throw new Error('This part of the broker runs on the embedded SQLite store only.')
}
