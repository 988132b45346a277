// Access requests, stored whole (the API's own shape) beside the columns they are looked up by.
import type { AccessRequest, RequestState } from '../../../wire/api.js'
import type { Sql } from '../sql.js'

export class Requests {
  constructor(private readonly store: Sql) {}

  async save(request: AccessRequest): Promise<void> {
    await this.store.execute('INSERT INTO requests (id, body, "user", state, created_at) VALUES (?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, state = excluded.state', [
      request.id, JSON.stringify(request), request.user, request.state, request.createdAt,
    ])
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const row = (await this.store.query('SELECT body FROM requests WHERE id = ?', [id]))[0]
    return row && JSON.parse(row.body as string)
  }

  /** Newest first. */
  async list(filter: { user?: string; state?: RequestState; limit?: number }): Promise<AccessRequest[]> {
    const where: string[] = []
    const params: string[] = []
    if (filter.user) {
      where.push('"user" = ?')
      params.push(filter.user)
    }
    if (filter.state) {
      where.push('state = ?')
      params.push(filter.state)
    }
    const sql = `SELECT body FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ${Math.floor(filter.limit ?? 200)}`
    return (await this.store.query(sql, params)).map((row) => JSON.parse(row.body as string))
  }
}
