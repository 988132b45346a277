// The built-in ticket register of the embedded default: work orders kept in the broker's own
// database (add, close, reopen, list), each change audited in the same transaction. Closing a
// ticket here ends its sessions: at once when closed through the API, and on the broker's next
// sweep when an operator closes it on the data folder (see closing.ts).
import { isAssetPath } from '../../policy/asset-pattern.js'
import { nowIso } from '../../util/ids.js'
import { TICKET_ID_PATTERN, TICKET_TITLE_MAX, type AddTicketBody, type RegisterTicket, type RegisterTicketState } from '../../wire/tickets.js'
import type { Row, Store } from '../store/sqlite-store.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ticket_register (id TEXT PRIMARY KEY, asset TEXT NOT NULL, assignee TEXT, org TEXT, title TEXT, state TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ticket_register_state ON ticket_register(state);
CREATE INDEX IF NOT EXISTS sessions_ticket ON sessions(ticket, state);
CREATE TABLE IF NOT EXISTS ticket_events (system TEXT NOT NULL, event_id TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (system, event_id));
`

const NAME = /^[a-z][a-z0-9._-]{0,63}$/

/** Why a ticket cannot go into the register; undefined when it can. */
export function registerInputProblem(body: AddTicketBody): string | undefined {
  if (!TICKET_ID_PATTERN.test(body.id)) return `"${body.id}" is not a ticket id (letters, digits, . _ -, at most 64).`
  if (!isAssetPath(body.asset)) return `"${body.asset}" is not an asset path (like site/area/line/cell/asset).`
  if ((body.assignee === undefined) === (body.org === undefined)) return 'Assign the ticket to one person (assignee) or one vendor organisation (org).'
  if (body.assignee !== undefined && !NAME.test(body.assignee)) return `"${body.assignee}" is not a user name.`
  if (body.org !== undefined && !NAME.test(body.org)) return `"${body.org}" is not an organisation name.`
  if (body.title !== undefined && body.title.length > TICKET_TITLE_MAX) return `The title is longer than ${TICKET_TITLE_MAX} characters.`
  return undefined
}

function toTicket(row: Row): RegisterTicket {
  return {
    id: row.id as string,
    asset: row.asset as string,
    assignee: (row.assignee as string) ?? undefined,
    org: (row.org as string) ?? undefined,
    title: (row.title as string) ?? undefined,
    state: row.state as RegisterTicketState,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
    updatedBy: row.updated_by as string,
  }
}

export class TicketRegister {
  constructor(readonly store: Store) {
    store.db.exec(SCHEMA)
  }

  get(id: string): RegisterTicket | undefined {
    const row = this.store.statement('SELECT * FROM ticket_register WHERE id = ?').get(id) as Row | undefined
    return row && toTicket(row)
  }

  list(filter: { state?: RegisterTicketState } = {}): RegisterTicket[] {
    const rows = filter.state
      ? this.store.statement('SELECT * FROM ticket_register WHERE state = ? ORDER BY id LIMIT 1000').all(filter.state)
      : this.store.statement('SELECT * FROM ticket_register ORDER BY id LIMIT 1000').all()
    return (rows as Row[]).map(toTicket)
  }

  /** Files a new open ticket. Call inside a transaction; false if the id is taken. */
  add(body: AddTicketBody, by: string): RegisterTicket | undefined {
    const at = nowIso()
    const inserted = this.store
      .statement('INSERT INTO ticket_register (id, asset, assignee, org, title, state, created_at, updated_at, updated_by) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING')
      .run(body.id, body.asset, body.assignee ?? null, body.org ?? null, body.title ?? null, 'open', at, at, by).changes > 0
    if (!inserted) return undefined
    const ticket = this.get(body.id)!
    this.store.appendAudit({ type: 'ticket.added', actor: by, data: { ticket: ticket.id, asset: ticket.asset, assignee: ticket.assignee ?? null, org: ticket.org ?? null, title: ticket.title ?? null } })
    return ticket
  }

  /** Moves a ticket to a state, audited. Call inside a transaction; undefined if there is no such ticket. */
  setState(id: string, state: RegisterTicketState, by: string, data: Record<string, unknown> = {}): { ticket: RegisterTicket; changed: boolean } | undefined {
    const before = this.get(id)
    if (!before) return undefined
    if (before.state === state) return { ticket: before, changed: false }
    this.store.statement('UPDATE ticket_register SET state = ?, updated_at = ?, updated_by = ? WHERE id = ?').run(state, nowIso(), by, id)
    this.store.appendAudit({ type: state === 'closed' ? 'ticket.closed' : 'ticket.reopened', actor: by, data: { ticket: id, ...data } })
    return { ticket: this.get(id)!, changed: true }
  }

  /** Active standard sessions whose register ticket is closed: what the sweep ends. */
  sessionsOfClosedTickets(nowEpoch: number): { sessionId: string; ticket: string }[] {
    return (this.store
      .statement("SELECT s.id AS id, s.ticket AS ticket FROM sessions s JOIN ticket_register t ON t.id = s.ticket WHERE s.state = 'active' AND s.kind = 'standard' AND s.expires_at > ? AND t.state = 'closed'")
      .all(nowEpoch) as Row[]).map((row) => ({ sessionId: row.id as string, ticket: row.ticket as string }))
  }
}
