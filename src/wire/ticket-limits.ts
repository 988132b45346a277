// The few values the ticket bodies' schemas (api-bodies.ts) and the ticket wire format
// (tickets.ts) share: kept apart so that neither imports the other.
export const TICKET_TITLE_MAX = 200

export const TICKET_EVENT_STATES = ['closed', 'cancelled', 'reopened'] as const
export type TicketEventState = (typeof TICKET_EVENT_STATES)[number]
