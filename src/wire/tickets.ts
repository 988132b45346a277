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

export interface AddTicketBody {
  id: string
  asset: string
  assignee?: string
  org?: string
  title?: string
}

export interface TicketChangeResult {
  ticket: RegisterTicket
  /** Sessions the change ended (closing ends every session opened for the ticket). */
  endedSessions: string[]
}

/** A ticket id: what the register and the events accept. Formats per system come from the policy. */
export const TICKET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
export const TICKET_TITLE_MAX = 200

export const ticketSchemas = {
  add: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'asset'],
    properties: {
      id: { type: 'string', minLength: 1, maxLength: 64 },
      asset: { type: 'string', minLength: 1, maxLength: 512 },
      assignee: { type: 'string', minLength: 1, maxLength: 64 },
      org: { type: 'string', minLength: 1, maxLength: 64 },
      title: { type: 'string', maxLength: TICKET_TITLE_MAX },
    },
  },
  change: {
    type: 'object',
    additionalProperties: false,
    properties: { reason: { type: 'string', maxLength: 500 } },
  },
} as const

// ---- events from ticket systems ----------------------------------------------------------------

export const TICKET_EVENT_STATES = ['closed', 'cancelled', 'reopened'] as const
export type TicketEventState = (typeof TICKET_EVENT_STATES)[number]

/** What a ticket system posts when a ticket changes; signed as a whole (see signTicketEvent). */
export interface TicketEvent {
  /** The ticket system, as the policy names it (tickets.systems). */
  system: string
  /** Unique per event: a second delivery of the same id is refused as a replay. */
  eventId: string
  ticket: string
  state: TicketEventState
  /** When the event was sent, seconds since the epoch: too old or too far ahead is refused. */
  timestamp: number
}

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

export const ticketEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['system', 'eventId', 'ticket', 'state', 'timestamp'],
  properties: {
    system: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$', maxLength: 64 },
    eventId: { type: 'string', minLength: 8, maxLength: 128 },
    ticket: { type: 'string', minLength: 1, maxLength: 64 },
    state: { enum: TICKET_EVENT_STATES },
    timestamp: { type: 'integer', minimum: 0 },
  },
} as const
