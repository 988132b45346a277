// The ticket endpoints of the broker's HTTP API: the built-in register (admin and
// maintenance-planner roles) and the signed events ticket systems send.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AddTicketBody, TicketChangeBody, TicketEvent } from '../../wire/api-bodies.js'
import { TICKET_SIGNATURE_HEADER, type RegisterTicketState } from '../../wire/tickets.js'
import { forbidden } from '../api-error.js'
import { hasAnyRole, type Actor, type BrokerContext } from '../context.js'
import { acceptTicketEvent } from './events.js'
import { addRegisterTicket, listRegisterTickets, setRegisterTicketState } from './register-ops.js'

/** Who keeps the register: operators, and the planners who issue work orders. */
export const REGISTER_ROLES = ['admin', 'maintenance-planner'] as const
const READ_ROLES = [...REGISTER_ROLES, 'security'] as const

function keeper(actor: Actor, roles: readonly string[] = REGISTER_ROLES): Actor {
  if (!hasAnyRole(actor.user, roles)) throw forbidden(`Only ${roles.join(' or ')} may do this with the ticket register.`)
  return actor
}

export function registerTicketRoutes(app: FastifyInstance, ctx: BrokerContext, actorOf: (request: FastifyRequest) => Promise<Actor>, prefix: string, log: (line: string) => void): void {
  app.get(`${prefix}/tickets`, async (request) => {
    keeper(await actorOf(request), READ_ROLES)
    const state = (request.query as { state?: string }).state
    return { tickets: await listRegisterTickets(ctx.store, state === 'open' || state === 'closed' ? (state as RegisterTicketState) : undefined) }
  })
  app.post(`${prefix}/tickets`, { schema: { body: AddTicketBody } }, async (request, reply) => {
    const actor = keeper(await actorOf(request))
    reply.code(201)
    return { ticket: await addRegisterTicket(ctx.store, request.body as AddTicketBody, actor.user.name) }
  })
  for (const [verb, state] of [['close', 'closed'], ['reopen', 'open']] as const) {
    app.post(`${prefix}/tickets/:id/${verb}`, { schema: { body: TicketChangeBody } }, async (request) => {
      const actor = keeper(await actorOf(request))
      return setRegisterTicketState({ ctx }, (request.params as { id: string }).id, state, actor.user.name, (request.body as { reason?: string } | undefined)?.reason)
    })
  }
  app.post(`${prefix}/tickets/events`, { schema: { body: TicketEvent } }, async (request) => {
    const signature = request.headers[TICKET_SIGNATURE_HEADER]
    return acceptTicketEvent(ctx, request.body as TicketEvent, request.rawBody ?? '', typeof signature === 'string' ? signature : undefined, log)
  })
}
