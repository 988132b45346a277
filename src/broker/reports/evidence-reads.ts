// The reads an evidence file needs, over the store's portable SQL (any SqlReader: the store or one
// of its snapshots): the subject's sessions, their audit records, how each ended at each layer,
// its review and ticket, and the chain segment the file carries.
import { AUDIT_ROW_COLUMNS } from '../../audit/verify-log.js'
import type { AuditEvent } from '../../wire/api.js'
import { toAuditEvent, toSession, type Row, type SessionRecord } from '../store/records.js'
import type { SqlReader } from '../store/store.js'

/** At most this many sessions in one work order's file. */
export const MAX_SESSIONS = 200

export async function sessionsOf(read: SqlReader, subject: { session?: string; ticket?: string }, nowEpoch: number): Promise<SessionRecord[]> {
  const rows = subject.session !== undefined
    ? await read.query('SELECT * FROM sessions WHERE id = ?', [subject.session])
    : await read.query(`SELECT * FROM sessions WHERE ticket = ? ORDER BY issued_at LIMIT ${MAX_SESSIONS}`, [subject.ticket!])
  return rows.map((row) => toSession(row, nowEpoch))
}

/** Every audit record of the sessions or their requests, in chain order. */
export async function auditOf(read: SqlReader, sessionIds: string[], requestIds: string[]): Promise<AuditEvent[]> {
  const marks = (n: number) => new Array(n).fill('?').join(',')
  const rows = await read.query(
    `SELECT ${AUDIT_ROW_COLUMNS} FROM audit WHERE session_id IN (${marks(sessionIds.length)}) OR request_id IN (${marks(requestIds.length)}) ORDER BY seq`,
    [...sessionIds, ...requestIds],
  )
  return rows.map(toAuditEvent)
}

/** The chain from `from` to `to`, both included, in order. */
export async function chainSegment(read: SqlReader, from: number, to: number): Promise<AuditEvent[]> {
  return (await read.query(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq`, [from, to])).map(toAuditEvent)
}

/** The oldest stored checkpoint at or after record `seq`. */
export async function checkpointFrom(read: SqlReader, seq: number): Promise<{ seq: number; hash: string; at: string; jws: string } | undefined> {
  const row = (await read.query('SELECT seq, hash, at, jws FROM audit_checkpoints WHERE seq >= ? ORDER BY seq LIMIT 1', [seq]))[0]
  return row && { seq: Number(row.seq), hash: row.hash as string, at: row.at as string, jws: row.jws as string }
}

/** What the gateways were told when the session ended (the revocation stream), one row per layer told. */
export async function endsOf(read: SqlReader, sessionId: string): Promise<{ asset: string; cause: string; at: string }[]> {
  return (await read.query('SELECT asset, cause, at FROM session_ends WHERE session_id = ? ORDER BY seq', [sessionId])).map((row) => ({ asset: row.asset as string, cause: row.cause as string, at: row.at as string }))
}

export async function verificationsOf(read: SqlReader, sessionId: string): Promise<{ verifier: string; firstAt: string; lastAt: string; checks: number }[]> {
  return (await read.query('SELECT verifier, first_at, last_at, checks FROM session_verifications WHERE session_id = ? ORDER BY first_at', [sessionId]))
    .map((row) => ({ verifier: row.verifier as string, firstAt: row.first_at as string, lastAt: row.last_at as string, checks: Number(row.checks) }))
}

export async function certificatesOf(read: SqlReader, sessionId: string): Promise<Row[]> {
  return read.query('SELECT serial, key_id, principals, valid_after, valid_before, key_fingerprint, issued_at FROM ssh_certificates WHERE session_id = ? ORDER BY serial', [sessionId])
}

export async function reviewOf(read: SqlReader, sessionId: string): Promise<Row | undefined> {
  return (await read.query('SELECT id, kind, due_at, answers, filed_at, signed_off_by, signed_off_at, sign_off_comment FROM reviews WHERE session_id = ?', [sessionId]))[0]
}

export async function ticketOf(read: SqlReader, ticket: string): Promise<Row | undefined> {
  return (await read.query('SELECT id, asset, assignee, org, title, state, created_at, updated_at, updated_by FROM ticket_register WHERE id = ?', [ticket]))[0]
}
