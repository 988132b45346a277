// The workload endpoints: enrollment with a join token (no signed caller yet: the token is the
// proof), and the register for the admin role (the same functions the operator runs on the
// data folder, admin.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { WorkloadEnrollBody } from '../../wire/api-bodies.js'
import { forbidden, notFound } from '../api-error.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from '../context.js'
import type { WorkloadRecord } from '../store/repositories/workloads.js'
import { DEFAULT_TRUST_DOMAIN } from '../spiffe/spiffe-id.js'
import * as register from './register.js'

const NAME = { type: 'string', minLength: 1, maxLength: 64 } as const
const EMPTY = { type: 'object', additionalProperties: false, properties: {} } as const
const ADD = { type: 'object', additionalProperties: false, required: ['name', 'owner', 'attest'], properties: { name: NAME, owner: { type: 'string', minLength: 1, maxLength: 200 }, attest: NAME } } as const
const REASON = { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } } } as const
const TOKEN = { type: 'object', additionalProperties: false, properties: { validSeconds: { type: 'integer' } } } as const

export function registerWorkloadRoutes(app: FastifyInstance, ctx: BrokerContext, actorOf: (request: FastifyRequest) => Promise<Actor>, prefix: string): void {
  app.post(`${prefix}/workloads/enroll`, { schema: { body: WorkloadEnrollBody } }, async (request, reply) => {
    reply.code(201)
    return register.enrollWorkload(ctx, request.body as WorkloadEnrollBody, request.ip)
  })

  const admin = async (request: FastifyRequest): Promise<string> => {
    const actor = await actorOf(request)
    if (!actor.user.roles.includes('admin')) throw forbidden('Only the admin role can manage workloads.')
    return actor.user.name
  }
  const name = (request: FastifyRequest) => (request.params as { name: string }).name

  app.get(`${prefix}/admin/workloads`, async (request) => {
    await admin(request)
    return { workloads: await register.listWorkloads(ctx) }
  })
  app.post(`${prefix}/admin/workloads`, { schema: { body: ADD } }, async (request, reply) => {
    const by = await admin(request)
    reply.code(201)
    return register.addWorkload(ctx, by, { ...(request.body as { name: string; owner: string; attest: string }), trustDomain: ctx.trustDomain ?? DEFAULT_TRUST_DOMAIN })
  })
  app.get(`${prefix}/admin/workloads/:name`, async (request) => {
    await admin(request)
    return register.showWorkload(ctx, name(request))
  })
  app.post(`${prefix}/admin/workloads/:name/disable`, { schema: { body: REASON } }, async (request) => register.disableWorkload(ctx, await admin(request), name(request), (request.body as { reason?: string }).reason))
  app.post(`${prefix}/admin/workloads/:name/enable`, { schema: { body: EMPTY } }, async (request) => register.enableWorkload(ctx, await admin(request), name(request)))
  app.post(`${prefix}/admin/workloads/:name/remove`, { schema: { body: EMPTY } }, async (request) => register.removeWorkload(ctx, await admin(request), name(request)))
  app.post(`${prefix}/admin/workloads/:name/join-token`, { schema: { body: TOKEN } }, async (request) => {
    const by = await admin(request)
    return register.makeJoinToken(ctx, by, name(request), (request.body as { validSeconds?: number }).validSeconds ?? 3600)
  })
}

/** The workload whose audit trail the caller may read: admins and security any, an owner their own. */
export async function workloadInView(ctx: BrokerContext, actor: Actor, name: string): Promise<WorkloadRecord> {
  const workload = await ctx.store.workloads.get(name)
  const owner = workload && (workload.owner === actor.user.name || (workload.owner.startsWith('group:') && actor.user.roles.includes(workload.owner.slice(6))))
  if (!workload || !(owner || hasAnyRole(actor.user, OVERSIGHT_ROLES))) throw notFound(`Workload ${name}`)
  return workload
}
