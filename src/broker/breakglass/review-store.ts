// Persistence of the break-glass flow: reviews (joined with their session, to know whether it has
// ended) and the outbox of notifications waiting to be delivered.
import type { RequestKind } from '../../wire/api.js'
import { sqliteOf, type SqliteAsyncStore } from '../store/sqlite-async-store.js'
import type { Row } from '../store/sqlite-store.js'
import type { Store } from '../store/store.js'

export interface ReviewRecord {
  id: string
  sessionId: string
  user: string
  asset: string
  kind: RequestKind
  dueAtEpoch: number
  answers?: string
  filedAt?: string
  signedOffBy?: string
  signedOffAt?: string
  signOffComment?: string
  overdueFlagged: boolean
  /** From the joined session: has it ended (revoked, or past expiry)? */
  sessionEnded: boolean
}

export interface OutboxRecord {
  id: number
  target: string
  body: string
  attempts: number
  nextAttemptAt: number
}

const REVIEW_SCHEMA = `
CREATE TABLE IF NOT EXISTS reviews (id TEXT PRIMARY KEY, session_id TEXT NOT NULL UNIQUE, user TEXT NOT NULL, asset TEXT NOT NULL, kind TEXT NOT NULL, due_at INTEGER NOT NULL, answers TEXT, filed_at TEXT, signed_off_by TEXT, signed_off_at TEXT, sign_off_comment TEXT, overdue_flagged INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS reviews_user ON reviews(user, filed_at);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, delivered_at TEXT, last_error TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(delivered_at, next_attempt_at);
`

const REVIEW_SELECT = `SELECT r.*, (s.state != 'active' OR s.expires_at <= ?) AS session_ended FROM reviews r JOIN sessions s ON s.id = r.session_id`

function toReview(row: Row): ReviewRecord {
  return {
    id: row.id as string,
    sessionId: row.session_id as string,
    user: row.user as string,
    asset: row.asset as string,
    kind: row.kind as RequestKind,
    dueAtEpoch: row.due_at as number,
    answers: (row.answers as string) ?? undefined,
    filedAt: (row.filed_at as string) ?? undefined,
    signedOffBy: (row.signed_off_by as string) ?? undefined,
    signedOffAt: (row.signed_off_at as string) ?? undefined,
    signOffComment: (row.sign_off_comment as string) ?? undefined,
    overdueFlagged: row.overdue_flagged === 1,
    sessionEnded: row.session_ended === 1,
  }
}

export class ReviewStore {
  readonly #sqlite: SqliteAsyncStore

  /** On the broker's store; SQLite only so far (sqliteOf). */
  constructor(readonly store: Store) {
    this.#sqlite = sqliteOf(store)
    this.#sqlite.sqlite.db.exec(REVIEW_SCHEMA)
  }

  insert(review: Pick<ReviewRecord, 'id' | 'sessionId' | 'user' | 'asset' | 'kind' | 'dueAtEpoch'>): Promise<void> {
    return this.#sqlite.run((db) => {
      db.statement('INSERT INTO reviews (id, session_id, user, asset, kind, due_at) VALUES (?,?,?,?,?,?)').run(review.id, review.sessionId, review.user, review.asset, review.kind, review.dueAtEpoch)
    })
  }

  get(id: string, nowEpoch: number): Promise<ReviewRecord | undefined> {
    return this.#sqlite.run((db) => {
      const row = db.statement(`${REVIEW_SELECT} WHERE r.id = ?`).get(nowEpoch, id) as Row | undefined
      return row && toReview(row)
    })
  }

  bySession(sessionId: string, nowEpoch: number): Promise<ReviewRecord | undefined> {
    return this.#sqlite.run((db) => {
      const row = db.statement(`${REVIEW_SELECT} WHERE r.session_id = ?`).get(nowEpoch, sessionId) as Row | undefined
      return row && toReview(row)
    })
  }

  list(filter: { user?: string; unfiledOnly?: boolean; filedNotSignedOff?: boolean }, nowEpoch: number): Promise<ReviewRecord[]> {
    return this.#sqlite.run((db) => {
      const where: string[] = []
      const params: (string | number)[] = [nowEpoch]
      if (filter.user) {
        where.push('r.user = ?')
        params.push(filter.user)
      }
      if (filter.unfiledOnly) where.push('r.filed_at IS NULL')
      if (filter.filedNotSignedOff) where.push('r.filed_at IS NOT NULL AND r.signed_off_at IS NULL')
      const sql = `${REVIEW_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.due_at LIMIT 500`
      return (db.statement(sql).all(...params) as Row[]).map(toReview)
    })
  }

  file(id: string, answers: string, at: string): Promise<boolean> {
    return this.#sqlite.run((db) => {
      return db.statement('UPDATE reviews SET answers = ?, filed_at = ? WHERE id = ? AND filed_at IS NULL').run(answers, at, id).changes > 0
    })
  }

  signOff(id: string, by: string, comment: string | undefined, at: string): Promise<boolean> {
    return this.#sqlite.run((db) => {
      return db.statement('UPDATE reviews SET signed_off_by = ?, signed_off_at = ?, sign_off_comment = ? WHERE id = ? AND filed_at IS NOT NULL AND signed_off_at IS NULL').run(by, at, comment ?? null, id).changes > 0
    })
  }

  /** Unfiled reviews past their due time that have not been flagged yet. */
  newlyOverdue(nowEpoch: number): Promise<ReviewRecord[]> {
    return this.#sqlite.run((db) => {
      return (db.statement(`${REVIEW_SELECT} WHERE r.filed_at IS NULL AND r.overdue_flagged = 0 AND r.due_at <= ?`).all(nowEpoch, nowEpoch) as Row[]).map(toReview)
    })
  }

  /** Brings the due time forward (never back): a review is due review_due after its session ends. */
  dueBy(id: string, dueAtEpoch: number): Promise<void> {
    return this.#sqlite.run((db) => {
      db.statement('UPDATE reviews SET due_at = min(due_at, ?) WHERE id = ?').run(dueAtEpoch, id)
    })
  }

  flagOverdue(id: string): Promise<void> {
    return this.#sqlite.run((db) => {
      db.statement('UPDATE reviews SET overdue_flagged = 1 WHERE id = ?').run(id)
    })
  }

  enqueue(target: string, body: string, nowEpoch: number): Promise<void> {
    return this.#sqlite.run((db) => {
      db.statement('INSERT INTO outbox (target, body, next_attempt_at) VALUES (?,?,?)').run(target, body, nowEpoch)
    })
  }

  dueNotifications(nowEpoch: number, limit = 50): Promise<OutboxRecord[]> {
    return this.#sqlite.run((db) => {
      return (db.statement('SELECT * FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?').all(nowEpoch, limit) as Row[]).map((row) => ({
        id: row.id as number,
        target: row.target as string,
        body: row.body as string,
        attempts: row.attempts as number,
        nextAttemptAt: row.next_attempt_at as number,
      }))
    })
  }

  delivered(id: number, at: string): Promise<void> {
    return this.#sqlite.run((db) => {
      db.statement('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?').run(at, id)
    })
  }

  failed(id: number, error: string, nextAttemptAt: number): Promise<void> {
    return this.#sqlite.run((db) => {
      db.statement('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?').run(error.slice(0, 500), nextAttemptAt, id)
    })
  }
}
