// The built-in ticket register over the broker's API, for the admin and maintenance-planner
// roles (device-authenticated), and how a register ticket is shown: its title is someone's free
// text, so control characters are made visible, never printed raw.
import { printable } from '../../util/printable.js'
import type { AddTicketBody, RegisterTicket, RegisterTicketState, TicketChangeResult } from '../../wire/tickets.js'
import type { CliContext } from '../context.js'

export const registerOverApi = {
  async add(cli: CliContext, body: AddTicketBody): Promise<RegisterTicket> {
    return (await (await cli.client()).post<{ ticket: RegisterTicket }>('/tickets', body)).ticket
  },
  async setState(cli: CliContext, id: string, state: RegisterTicketState, reason?: string): Promise<TicketChangeResult> {
    const verb = state === 'closed' ? 'close' : 'reopen'
    return (await cli.client()).post<TicketChangeResult>(`/tickets/${encodeURIComponent(id)}/${verb}`, reason ? { reason } : {})
  },
  async list(cli: CliContext, state?: RegisterTicketState): Promise<RegisterTicket[]> {
    return (await (await cli.client()).get<{ tickets: RegisterTicket[] }>(`/tickets${state ? `?state=${state}` : ''}`)).tickets
  },
}

/** One table row: id, state, asset, assigned to, title (neutralised). */
export function ticketRow(ticket: RegisterTicket): string[] {
  return [ticket.id, ticket.state, ticket.asset, ticket.assignee ?? `org ${ticket.org}`, printable(ticket.title ?? '')]
}

export function describeTicket(ticket: RegisterTicket): string {
  const title = ticket.title ? ` "${printable(ticket.title)}"` : ''
  return `${ticket.id}${title}: ${ticket.asset}, assigned to ${ticket.assignee ?? `organisation ${ticket.org}`} (${ticket.state})`
}
