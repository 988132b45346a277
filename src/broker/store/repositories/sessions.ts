// Sessions: granted access with its credential's id, expiry, heartbeats and how it ended. A
// session past its expiry reads as expired whether or not the sweeper has marked it (toSession).
import { nowIso } from '../../../util/ids.js'
import type { SessionState } from '../../../wire/api.js'
import { toSession, type SessionRecord } from '../records.js'
import type { Sql } from '../sql.js'

export interface SessionFilter {
  user?: string
  deviceId?: string
  asset?: string
  activeOnly?: boolean
}

const now = () => Date.now() / 1000

export class Sessions {
  constructor(private readonly store: Sql) {}

  async insert(session: SessionRecord): Promise<void> {
    await this.store.execute('INSERT INTO sessions (id, request_id, "user", device_id, asset, ticket, scope, kind, jti, issued_at, expires_at, cache_allowed, state) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)', [
      session.id, session.requestId, session.user, session.deviceId, session.asset, session.ticket, session.scope, session.kind, session.jti,
      session.issuedAtEpoch, session.expiresAtEpoch, session.cacheAllowed ? 1 : 0, 'active',
    ])
  }

  async get(id: string, nowEpoch = now()): Promise<SessionRecord | undefined> {
    const row = (await this.store.query('SELECT * FROM sessions WHERE id = ?', [id]))[0]
    return row && toSession(row, nowEpoch)
  }

  async byJti(jti: string, nowEpoch = now()): Promise<SessionRecord | undefined> {
    const row = (await this.store.query('SELECT * FROM sessions WHERE jti = ?', [jti]))[0]
    return row && toSession(row, nowEpoch)
  }

  /** Newest first, at most 500. */
  async list(filter: SessionFilter, nowEpoch = now()): Promise<SessionRecord[]> {
    const where: string[] = []
    const params: (string | number)[] = []
    for (const [column, value] of [['"user"', filter.user], ['device_id', filter.deviceId], ['asset', filter.asset]] as const) {
      if (value) {
        where.push(`${column} = ?`)
        params.push(value)
      }
    }
    if (filter.activeOnly) {
      where.push("state = 'active' AND expires_at > CAST(? AS NUMERIC)")
      params.push(nowEpoch)
    }
    const sql = `SELECT * FROM sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY issued_at DESC LIMIT 500`
    return (await this.store.query(sql, params)).map((row) => toSession(row, nowEpoch))
  }

  /** Ends an active session; false if it had already ended. */
  async end(id: string, state: Exclude<SessionState, 'active'>, by: string, reason: string): Promise<boolean> {
    return (await this.store.execute("UPDATE sessions SET state = ?, ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ? AND state = 'active'", [state, nowIso(), by, reason, id])) > 0
  }

  /** Sessions past their expiry that nobody has marked yet. */
  async pastExpiry(nowEpoch: number): Promise<string[]> {
    return (await this.store.query("SELECT id FROM sessions WHERE state = 'active' AND expires_at <= CAST(? AS NUMERIC)", [nowEpoch])).map((row) => row.id as string)
  }

  async markVerified(id: string): Promise<void> {
    await this.store.execute('UPDATE sessions SET last_verified_at = ? WHERE id = ?', [nowIso(), id])
  }

  /** Arms (first call) or feeds the dead-man's switch of an active session; false if it has ended. */
  async recordHeartbeat(id: string, atMs: number): Promise<boolean> {
    return (await this.store.execute("UPDATE sessions SET heartbeat_at = ? WHERE id = ? AND state = 'active'", [atMs, id])) > 0
  }

  /** Moves the expiry of an active session; false if it had already ended. */
  async extend(id: string, expiresAtEpoch: number): Promise<boolean> {
    return (await this.store.execute("UPDATE sessions SET expires_at = ? WHERE id = ? AND state = 'active'", [expiresAtEpoch, id])) > 0
  }
}
