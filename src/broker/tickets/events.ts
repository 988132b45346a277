// Inbound ticket events (POST /v1/tickets/events): a ticket system tells jit that a ticket was
// closed, cancelled or reopened. Each event is signed with the system's shared secret
// (HMAC-SHA256 over the exact body, compared in constant time), carries a timestamp that must be
// recent and an event id that must be new. A bad signature, a stale or replayed event, or a
// ticket jit has never seen is refused and changes nothing (no row, no audit record; the
// broker's log says why). An accepted close ends the ticket's sessions in the same transaction.
import { createHash, timingSafeEqual } from 'node:crypto'
import { ticketSystem } from '../../policy/evaluate.js'
import { printable } from '../../util/printable.js'
import { TICKET_EVENT_TOLERANCE_SECONDS, signTicketEvent, type TicketEvent, type TicketEventResult } from '../../wire/tickets.js'
import { ApiError, authFailed, badInput } from '../api-error.js'
import type { BrokerContext } from '../context.js'
import { endSessionsForTicket } from './closing.js'
import { TicketSystemUnreachable } from './connector.js'
import { registerOf, ticketLookups } from './lookups.js'
import { readSecret } from './secrets.js'

function sameSignature(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison's time says nothing about the secret.
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

/**
 * Why an event's timestamp (integer seconds since the epoch) is refused, if it is. A sender that
 * sends milliseconds is told so, rather than sent looking for a replay or a clock to fix.
 */
function timestampProblem(timestamp: number, nowEpoch: number): ApiError | undefined {
  if (Math.abs(nowEpoch - timestamp) <= TICKET_EVENT_TOLERANCE_SECONDS) return undefined
  if (Math.abs(nowEpoch - timestamp / 1000) <= TICKET_EVENT_TOLERANCE_SECONDS) {
    return badInput(`The event's timestamp ${timestamp} looks like milliseconds; send integer seconds since the epoch (the broker's clock says ${nowEpoch}).`)
  }
  return authFailed(`The event's timestamp is more than ${TICKET_EVENT_TOLERANCE_SECONDS}s away from the broker's clock (a replay, or a clock to fix); it is integer seconds since the epoch (the broker's clock says ${nowEpoch}).`)
}

export async function acceptTicketEvent(ctx: BrokerContext, event: TicketEvent, rawBody: string, signature: string | undefined, log: (line: string) => void): Promise<TicketEventResult> {
  const refuse = (error: ApiError): never => {
    // The ticket id is the sender's text: a newline in it must not forge a line of the broker's log.
    log(`tickets: refused an event for ${event.system}/${printable(event.ticket)}: ${printable(error.message)}`)
    throw error
  }
  const config = ctx.policy.ticketSystems[event.system]
  if (!config?.webhookSecret) refuse(authFailed(`Ticket system "${event.system}" sends no signed events to this broker.`))
  let secret: string
  try {
    secret = readSecret(config!.webhookSecret!)
  } catch (error) {
    if (!(error instanceof TicketSystemUnreachable)) throw error
    return refuse(new ApiError(503, 'unavailable', `The shared secret of ticket system "${event.system}" is not available to the broker (${error.message}).`))
  }
  if (!signature || !sameSignature(signature, signTicketEvent(secret, rawBody))) refuse(authFailed('The event signature does not match.'))
  const nowEpoch = Math.floor(ctx.now() / 1000)
  const late = timestampProblem(event.timestamp, nowEpoch)
  if (late) refuse(late)
  if (ticketSystem(ctx.policy, event.ticket) !== event.system) refuse(badInput(`"${event.ticket}" is not a ${event.system} ticket id.`))
  const builtin = config!.connector === 'builtin'
  const register = registerOf(ctx.store)
  const known = builtin ? (await register.get(event.ticket)) !== undefined : await register.hasSessions(event.ticket)
  if (!known) refuse(new ApiError(404, 'not-found', `Ticket ${event.ticket} is unknown to this broker; nothing changed.`))

  const by = `ticket-system:${event.system}`
  let endedSessions: string[] = []
  try {
    endedSessions = await ctx.store.transaction(async (tx) => {
      const fresh = await register.rememberEvent(event.system, event.eventId, event.timestamp + 2 * TICKET_EVENT_TOLERANCE_SECONDS, nowEpoch)
      if (!fresh) throw new ApiError(409, 'replay', `Event ${event.eventId} was already received; a replay changes nothing.`)
      await tx.appendAudit({ type: 'ticket.event', actor: by, data: { system: event.system, ticket: event.ticket, state: event.state, eventId: event.eventId } })
      const closing = event.state !== 'reopened'
      if (builtin) await register.setState(event.ticket, closing ? 'closed' : 'open', by, { eventId: event.eventId })
      return closing ? endSessionsForTicket(ctx, event.ticket, { by, via: 'webhook', state: event.state }) : []
    })
  } catch (error) {
    if (error instanceof ApiError) refuse(error)
    throw error
  }
  ticketLookups(ctx).invalidate(event.system, event.ticket)
  ctx.notifier.kick()
  return { accepted: true, ticket: event.ticket, state: event.state, endedSessions }
}
