// The wire format of tickets: the built-in register's records and calls, the signed ticket
// events a ticket system sends when a ticket closes (POST /v1/tickets/events), and the checks'
// outcome. Shared by the broker, the CLI, tests and the bench.
import { createHmac } from 'node:crypto'

export type RegisterTicketState = 'open' | 'closed'

/** A work order in the broker's built-in register. */
export interface RegisterTicket {
  id: string
  /** The asset, or a line or cell above it, the work is on. */
  asset: string
  /** The person it is assigned to, or (for vendor work) the organisation. */
  assignee?: string
  org?: string
  /** Free text from whoever filed it: shown with control characters neutralised. */
  title?: string
  state: RegisterTicketState
  createdAt: string
  updatedAt: string
  updatedBy: string
}

/** The register's and the events' bodies (their schemas: src/wire/api-bodies.ts, which only the broker loads). */
export type { AddTicketBody, TicketChangeBody, TicketEvent } from './api-bodies.js'

export interface TicketChangeResult {
  ticket: RegisterTicket
  /** Sessions the change ended (closing ends every session opened for the ticket). */
  endedSessions: string[]
}

/** A ticket id: what the register and the events accept. Formats per system come from the policy. */
export const TICKET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export { TICKET_EVENT_STATES, TICKET_TITLE_MAX, type TicketEventState } from './ticket-limits.js'
import type { TicketEventState } from './ticket-limits.js'


// ---- events from ticket systems ----------------------------------------------------------------



export interface TicketEventResult {
  accepted: true
  ticket: string
  state: TicketEventState
  endedSessions: string[]
}

export const TICKET_SIGNATURE_HEADER = 'x-jit-signature'
/** How far an event's timestamp may be from the broker's clock. */
export const TICKET_EVENT_TOLERANCE_SECONDS = 300

/** The signature header value of an event body: HMAC-SHA256 over the exact bytes sent. */
export function signTicketEvent(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`
}
