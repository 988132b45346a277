// The report endpoints (admin and security): the identity inventory, and a session's or a work
// order's evidence file.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { badInput, forbidden } from '../api-error.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from '../context.js'
import { identityReport } from './identities.js'
import { sessionEvidence } from './session-evidence.js'

// Query strings are not coerced: days are digits, at most 36500.
const DAYS = { type: 'string', pattern: '^[1-9][0-9]{0,4}$' } as const
const days = (value: string | undefined, fallback: number): number => (value === undefined ? fallback : Math.min(36500, Number(value)))
const ID = { type: 'string', minLength: 1, maxLength: 200 } as const

export function registerReportRoutes(app: FastifyInstance, ctx: BrokerContext, actorOf: (request: FastifyRequest) => Promise<Actor>, prefix: string): void {
  const oversight = async (request: FastifyRequest): Promise<void> => {
    const actor = await actorOf(request)
    if (!hasAnyRole(actor.user, OVERSIGHT_ROLES)) throw forbidden('Only admin and security can read identity and evidence reports.')
  }

  app.get(`${prefix}/reports/identities`, { schema: { querystring: { type: 'object', additionalProperties: false, properties: { unusedDays: DAYS, keyDays: DAYS } } } }, async (request) => {
    await oversight(request)
    const query = request.query as { unusedDays?: string; keyDays?: string }
    return identityReport(ctx.store, { unusedDays: days(query.unusedDays, 30), keyDays: days(query.keyDays, 365), nowMs: ctx.now(), policy: ctx.policy, dataDir: ctx.dataDir })
  })

  app.get(`${prefix}/reports/session`, { schema: { querystring: { type: 'object', additionalProperties: false, properties: { session: ID, ticket: ID } } } }, async (request, reply) => {
    await oversight(request)
    const query = request.query as { session?: string; ticket?: string }
    if ((query.session === undefined) === (query.ticket === undefined)) throw badInput('Name one session or one ticket.')
    const { file } = await sessionEvidence(ctx.store, ctx.signingKey, ctx.issuer, query, ctx.now())
    reply.type('application/x-ndjson')
    return file
  })
}
