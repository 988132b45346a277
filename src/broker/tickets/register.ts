// The built-in ticket register of the embedded default: work orders kept in the broker's own
// database (add, close, reopen, list), each change audited in the same transaction. Closing a
// ticket here ends its sessions: at once when closed through the API, and on the broker's next
// sweep when an operator closes it on the data folder (see closing.ts).
import { isAssetPath } from '../../policy/asset-pattern.js'
import { nowIso } from '../../util/ids.js'
import { TICKET_ID_PATTERN, TICKET_TITLE_MAX, type AddTicketBody, type RegisterTicket, type RegisterTicketState } from '../../wire/tickets.js'
import type { Row } from '../store/records.js'
import type { Store } from '../store/store.js'

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

/**
 * The tickets' tables (the register, the replay cache of ticket events) and their queries on
 * sessions: the SQL of the ticket feature, behind one repository on the broker's store. Each call
 * runs in the caller's transaction when there is one.
 */
export class TicketRegister {
  constructor(readonly store: Store) {}

  async get(id: string): Promise<RegisterTicket | undefined> {
    const row = (await this.store.query('SELECT * FROM ticket_register WHERE id = ?', [id]))[0]
    return row && toTicket(row)
  }

  async list(filter: { state?: RegisterTicketState } = {}): Promise<RegisterTicket[]> {
    const rows = filter.state
      ? await this.store.query('SELECT * FROM ticket_register WHERE state = ? ORDER BY id LIMIT 1000', [filter.state])
      : await this.store.query('SELECT * FROM ticket_register ORDER BY id LIMIT 1000')
    return rows.map(toTicket)
  }

  /** Files a new open ticket. Call inside a transaction; undefined if the id is taken. */
  async add(body: AddTicketBody, by: string): Promise<RegisterTicket | undefined> {
    const at = nowIso()
    const row = (
      await this.store.query(
        'INSERT INTO ticket_register (id, asset, assignee, org, title, state, created_at, updated_at, updated_by) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING RETURNING *',
        [body.id, body.asset, body.assignee ?? null, body.org ?? null, body.title ?? null, 'open', at, at, by],
      )
    )[0]
    if (!row) return undefined
    const ticket = toTicket(row)
    await this.store.appendAudit({ type: 'ticket.added', actor: by, data: { ticket: ticket.id, asset: ticket.asset, assignee: ticket.assignee ?? null, org: ticket.org ?? null, title: ticket.title ?? null } })
    return ticket
  }

  /** Moves a ticket to a state, audited. Call inside a transaction; undefined if there is no such ticket. */
  async setState(id: string, state: RegisterTicketState, by: string, data: Record<string, unknown> = {}): Promise<{ ticket: RegisterTicket; changed: boolean } | undefined> {
    const before = await this.get(id)
    if (!before) return undefined
    if (before.state === state) return { ticket: before, changed: false }
    const row = (await this.store.query('UPDATE ticket_register SET state = ?, updated_at = ?, updated_by = ? WHERE id = ? RETURNING *', [state, nowIso(), by, id]))[0]!
    await this.store.appendAudit({ type: state === 'closed' ? 'ticket.closed' : 'ticket.reopened', actor: by, data: { ticket: id, ...data } })
    return { ticket: toTicket(row), changed: true }
  }

  /** Active standard sessions whose register ticket is closed: what the sweep ends. */
  async sessionsOfClosedTickets(nowEpoch: number): Promise<{ sessionId: string; ticket: string }[]> {
    const rows = await this.store.query(
      "SELECT s.id AS id, s.ticket AS ticket FROM sessions s JOIN ticket_register t ON t.id = s.ticket WHERE s.state = 'active' AND s.kind = 'standard' AND s.expires_at > CAST(? AS NUMERIC) AND t.state = 'closed' ORDER BY s.id",
      [nowEpoch],
    )
    return rows.map((row) => ({ sessionId: row.id as string, ticket: row.ticket as string }))
  }

  /** The active standard sessions of a ticket. */
  async activeSessionsOf(ticket: string, nowEpoch: number): Promise<string[]> {
    const rows = await this.store.query("SELECT id FROM sessions WHERE ticket = ? AND state = 'active' AND kind = 'standard' AND expires_at > CAST(? AS NUMERIC) ORDER BY id", [ticket, nowEpoch])
    return rows.map((row) => row.id as string)
  }

  /** The tickets of active standard sessions. */
  async ticketsOfActiveSessions(nowEpoch: number): Promise<string[]> {
    const rows = await this.store.query("SELECT DISTINCT ticket FROM sessions WHERE state = 'active' AND kind = 'standard' AND expires_at > CAST(? AS NUMERIC) ORDER BY ticket", [nowEpoch])
    return rows.map((row) => row.ticket as string)
  }

  /** Whether any session ever named this ticket. */
  async hasSessions(ticket: string): Promise<boolean> {
    return (await this.store.query('SELECT 1 AS found FROM sessions WHERE ticket = ? LIMIT 1', [ticket])).length > 0
  }

  /** Records a ticket event's id (forgetting expired ones); false when it was seen before (a replay). */
  async rememberEvent(system: string, eventId: string, expiresAtEpoch: number, nowEpoch: number): Promise<boolean> {
    await this.store.execute('DELETE FROM ticket_events WHERE expires_at < CAST(? AS NUMERIC)', [nowEpoch])
    return (await this.store.execute('INSERT INTO ticket_events (system, event_id, expires_at) VALUES (?,?,?) ON CONFLICT DO NOTHING', [system, eventId, expiresAtEpoch])) > 0
  }
}
