// Reading the audit log. Appending is the engine's (store.appendAudit): how the chain's tail is
// locked differs between SQLite and PostgreSQL.
import type { AuditEvent } from '../../../wire/api.js'
import { toAuditEvent } from '../records.js'
import type { Sql } from '../sql.js'

export interface AuditFilter {
  sessionId?: string
  requestId?: string
  /** Records by this actor, and every record of the actor's requests. */
  actor?: string
  since?: string
  limit?: number
}

export class AuditLog {
  constructor(private readonly store: Sql) {}

  /** In chain order. */
  async events(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    const where: string[] = []
    const params: string[] = []
    if (filter.sessionId) {
      where.push('(session_id = ? OR request_id = (SELECT request_id FROM sessions WHERE id = ?))')
      params.push(filter.sessionId, filter.sessionId)
    }
    if (filter.requestId) {
      where.push('request_id = ?')
      params.push(filter.requestId)
    }
    if (filter.actor) {
      where.push('(actor = ? OR request_id IN (SELECT id FROM requests WHERE "user" = ?))')
      params.push(filter.actor, filter.actor)
    }
    if (filter.since) {
      where.push('at >= ?')
      params.push(filter.since)
    }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq${filter.limit ? ` LIMIT ${Math.floor(filter.limit)}` : ''}`
    return (await this.store.query(sql, params)).map(toAuditEvent)
  }
}
