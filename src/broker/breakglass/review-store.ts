// Persistence of the break-glass flow: reviews (joined with their session, to know whether it has
// ended) and the outbox of notifications waiting to be delivered.
import type { RequestKind } from '../../wire/api.js'
import { flag, int, type Row } from '../store/records.js'
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

const REVIEW_SELECT = `SELECT r.*, (s.state != 'active' OR s.expires_at <= CAST(? AS NUMERIC)) AS session_ended FROM reviews r JOIN sessions s ON s.id = r.session_id`

function toReview(row: Row): ReviewRecord {
  return {
    id: row.id as string,
    sessionId: row.session_id as string,
    user: row.user as string,
    asset: row.asset as string,
    kind: row.kind as RequestKind,
    dueAtEpoch: int(row.due_at),
    answers: (row.answers as string) ?? undefined,
    filedAt: (row.filed_at as string) ?? undefined,
    signedOffBy: (row.signed_off_by as string) ?? undefined,
    signedOffAt: (row.signed_off_at as string) ?? undefined,
    signOffComment: (row.sign_off_comment as string) ?? undefined,
    overdueFlagged: flag(row.overdue_flagged),
    sessionEnded: flag(row.session_ended),
  }
}

export class ReviewStore {
  /** On the broker's store: a call inside a transaction is part of it. */
  constructor(readonly store: Store) {}

  async insert(review: Pick<ReviewRecord, 'id' | 'sessionId' | 'user' | 'asset' | 'kind' | 'dueAtEpoch'>): Promise<void> {
    await this.store.execute('INSERT INTO reviews (id, session_id, "user", asset, kind, due_at) VALUES (?,?,?,?,?,?)', [review.id, review.sessionId, review.user, review.asset, review.kind, review.dueAtEpoch])
  }

  async get(id: string, nowEpoch: number): Promise<ReviewRecord | undefined> {
    const row = (await this.store.query(`${REVIEW_SELECT} WHERE r.id = ?`, [nowEpoch, id]))[0]
    return row && toReview(row)
  }

  async bySession(sessionId: string, nowEpoch: number): Promise<ReviewRecord | undefined> {
    const row = (await this.store.query(`${REVIEW_SELECT} WHERE r.session_id = ?`, [nowEpoch, sessionId]))[0]
    return row && toReview(row)
  }

  async list(filter: { user?: string; unfiledOnly?: boolean; filedNotSignedOff?: boolean }, nowEpoch: number): Promise<ReviewRecord[]> {
    const where: string[] = []
    const params: (string | number)[] = [nowEpoch]
    if (filter.user) {
      where.push('r."user" = ?')
      params.push(filter.user)
    }
    if (filter.unfiledOnly) where.push('r.filed_at IS NULL')
    if (filter.filedNotSignedOff) where.push('r.filed_at IS NOT NULL AND r.signed_off_at IS NULL')
    const sql = `${REVIEW_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.due_at LIMIT 500`
    return (await this.store.query(sql, params)).map(toReview)
  }

  async file(id: string, answers: string, at: string): Promise<boolean> {
    return (await this.store.execute('UPDATE reviews SET answers = ?, filed_at = ? WHERE id = ? AND filed_at IS NULL', [answers, at, id])) > 0
  }

  async signOff(id: string, by: string, comment: string | undefined, at: string): Promise<boolean> {
    return (await this.store.execute('UPDATE reviews SET signed_off_by = ?, signed_off_at = ?, sign_off_comment = ? WHERE id = ? AND filed_at IS NOT NULL AND signed_off_at IS NULL', [by, at, comment ?? null, id])) > 0
  }

  /** Unfiled reviews past their due time that have not been flagged yet. */
  async newlyOverdue(nowEpoch: number): Promise<ReviewRecord[]> {
    return (await this.store.query(`${REVIEW_SELECT} WHERE r.filed_at IS NULL AND r.overdue_flagged = 0 AND r.due_at <= CAST(? AS NUMERIC)`, [nowEpoch, nowEpoch])).map(toReview)
  }

  /** Brings the due time forward (never back): a review is due review_due after its session ends. */
  async dueBy(id: string, dueAtEpoch: number): Promise<void> {
    await this.store.execute('UPDATE reviews SET due_at = ? WHERE id = ? AND due_at > ?', [dueAtEpoch, id, dueAtEpoch])
  }

  /** False if it was flagged already (by another broker that ran the flagger at the same moment). */
  async flagOverdue(id: string): Promise<boolean> {
    return (await this.store.execute('UPDATE reviews SET overdue_flagged = 1 WHERE id = ? AND overdue_flagged = 0', [id])) === 1
  }

  async enqueue(target: string, body: string, nowEpoch: number): Promise<void> {
    await this.store.execute('INSERT INTO outbox (target, body, next_attempt_at) VALUES (?,?,?)', [target, body, nowEpoch])
  }

  async dueNotifications(nowEpoch: number, limit = 50): Promise<OutboxRecord[]> {
    const rows = await this.store.query('SELECT * FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= CAST(? AS NUMERIC) ORDER BY id LIMIT ?', [nowEpoch, limit])
    return rows.map((row) => ({
      id: int(row.id),
      target: row.target as string,
      body: row.body as string,
      attempts: int(row.attempts),
      nextAttemptAt: int(row.next_attempt_at),
    }))
  }

  /**
   * Takes a due row for one delivery attempt: moves its next attempt to `until` if nobody moved it
   * since it was read (compare-and-set on the value read, so no clock is compared). False: another
   * broker took it. If the claimer dies, the row is due again at `until`.
   */
  async claim(item: OutboxRecord, until: number): Promise<boolean> {
    return (await this.store.execute('UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL AND next_attempt_at = ?', [until, item.id, item.nextAttemptAt])) === 1
  }

  async delivered(id: number, at: string): Promise<void> {
    await this.store.execute('UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?', [at, id])
  }

  async failed(id: number, error: string, nextAttemptAt: number): Promise<void> {
    await this.store.execute('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?', [error.slice(0, 500), nextAttemptAt, id])
  }
}
