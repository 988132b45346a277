// The quickstart's work orders: a request refused because its work order is closed, and a live
// session ended by closing its work order, as a maintenance planner would
// (jit admin ticket close). The demo's work orders are in the broker's built-in register.
import type { RunningBroker } from '../broker/server.js'
import { addRegisterTicket, setRegisterTicketState } from '../broker/tickets/register-ops.js'
import type { CliContext } from '../cli/context.js'
import { submitRequest } from '../cli/sessions/request-access.js'
import type { IntrospectionResult } from '../wire/api.js'
import { DEMO_CLOSED_TICKET, DEMO_SESSION, DEMO_TICKETS } from './demo-plant.js'
import { refused } from './policy-tour.js'

export interface TicketTour {
  refusedClosed: string[]
  endedByClose: { ticket: string; sessionId: string; endedSessions: string[]; ms: number; activeAfter: boolean }
}

type Say = Record<'ok' | 'info', (text: string) => void>

export async function registerDemoTickets(broker: RunningBroker): Promise<void> {
  for (const { closed, ...ticket } of DEMO_TICKETS) {
    await addRegisterTicket(broker.ctx.store, ticket, 'quickstart')
    if (closed) await setRegisterTicketState({ ctx: broker.ctx }, ticket.id, 'closed', 'quickstart', 'work done last week')
  }
}

export async function ticketTour(broker: RunningBroker, tess: CliContext, verify: (token: string) => Promise<IntrospectionResult>, say: Say): Promise<TicketTour> {
  const ask = { asset: DEMO_SESSION.asset, scope: 'diagnose', ttl: '15m', reason: 'check the jam sensor' }
  say.info(`tess asks to diagnose plc-07 under ${DEMO_CLOSED_TICKET}, a work order closed last week`)
  const closed = await refused(tess, { ...ask, ticket: DEMO_CLOSED_TICKET })
  for (const reason of closed.reasons) say.info(`  refused: ${reason}`)

  const { grant } = await submitRequest(tess, { ...ask, ticket: DEMO_SESSION.ticket })
  say.ok(`Under ${DEMO_SESSION.ticket} (open, assigned to tess, for plc-07): session ${grant!.session.id} is open`)
  const started = performance.now()
  const result = await setRegisterTicketState({ ctx: broker.ctx }, DEMO_SESSION.ticket, 'closed', 'quickstart', 'work done')
  const after = await verify(grant!.credential)
  const ms = performance.now() - started
  say.ok(`The planner closes ${DEMO_SESSION.ticket} (jit admin ticket close ${DEMO_SESSION.ticket}): the session ended in ${ms.toFixed(0)} ms; introspection now says active: ${after.active}`)
  return {
    refusedClosed: closed.reasons,
    endedByClose: { ticket: DEMO_SESSION.ticket, sessionId: grant!.session.id, endedSessions: result.endedSessions, ms, activeAfter: after.active },
  }
}
