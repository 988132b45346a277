// The register's operations, for both ways in: the API (admin and maintenance-planner roles,
// device-authenticated; closing ends the ticket's sessions in the same transaction) and the data
// folder on the broker host (jit admin ticket … --data; the running broker ends the sessions on
// its next sweep, within a second).
import type { AddTicketBody, RegisterTicket, RegisterTicketState, TicketChangeResult } from '../../wire/tickets.js'
import { ApiError, badInput, notFound } from '../api-error.js'
import type { BrokerContext } from '../context.js'
import type { Store } from '../store/store.js'
import { endSessionsForTicket } from './closing.js'
import { registerInputProblem } from './register.js'
import { registerOf, ticketLookups } from './lookups.js'

export async function addRegisterTicket(store: Store, body: AddTicketBody, by: string): Promise<RegisterTicket> {
  const problem = registerInputProblem(body)
  if (problem) throw badInput(problem)
  const ticket = await store.transaction(() => registerOf(store).add(body, by))
  if (!ticket) throw new ApiError(409, 'bad-input', `Ticket ${body.id} is already in the register.`, { nextSteps: [`Close or reopen it instead: jit admin ticket close ${body.id}`] })
  return ticket
}

export function listRegisterTickets(store: Store, state?: RegisterTicketState): Promise<RegisterTicket[]> {
  return registerOf(store).list({ state })
}

/**
 * Closes or reopens a register ticket. With the broker's context (the API), closing ends the
 * ticket's sessions at once; on the data folder alone, the running broker does so on its sweep.
 */
export async function setRegisterTicketState(target: { ctx: BrokerContext } | { store: Store }, id: string, state: RegisterTicketState, by: string, reason?: string): Promise<TicketChangeResult> {
  const store = 'ctx' in target ? target.ctx.store : target.store
  const result = await store.transaction(async () => {
    const changed = await registerOf(store).setState(id, state, by, reason ? { reason } : {})
    if (!changed) throw notFound(`Ticket ${id}`)
    const endedSessions = state === 'closed' && 'ctx' in target ? await endSessionsForTicket(target.ctx, id, { by, via: 'register', state: 'closed' }) : []
    return { ticket: changed.ticket, endedSessions }
  })
  if ('ctx' in target) {
    target.ctx.notifier.kick()
    for (const system of Object.keys(target.ctx.policy.ticketSystems)) ticketLookups(target.ctx).invalidate(system, id)
  }
  return result
}
