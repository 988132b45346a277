// The offboarding endpoints of the admin API: the admin role, device-authenticated, calls the
// same functions the operator runs on the data folder (offboarding.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { badInput, forbidden } from './api-error.js'
import type { Actor, BrokerContext } from './context.js'
import * as offboarding from './offboarding.js'

const NAME = { type: 'string', minLength: 1, maxLength: 200 } as const
const REASON = { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } } } as const
const EMPTY = { type: 'object', additionalProperties: false, properties: {} } as const

export function registerAdminRoutes(app: FastifyInstance, ctx: BrokerContext, actorOf: (request: FastifyRequest) => Promise<Actor>, prefix: string): void {
  const admin = async (request: FastifyRequest): Promise<Actor> => {
    const actor = await actorOf(request)
    if (!actor.user.roles.includes('admin')) throw forbidden('Only the admin role can offboard users, devices and verifiers.')
    return actor
  }
  const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string>)[name]
  const reasonOf = (request: FastifyRequest) => (request.body as { reason?: string } | undefined)?.reason

  app.post(`${prefix}/admin/users/:name/disable`, { schema: { body: REASON } }, async (request) => {
    const actor = await admin(request)
    if (param(request, 'name') === actor.user.name) throw badInput('You cannot disable yourself; ask another admin.')
    return offboarding.disableUser(ctx, actor.user.name, param(request, 'name'), reasonOf(request))
  })
  app.post(`${prefix}/admin/users/:name/enable`, { schema: { body: EMPTY } }, async (request) => offboarding.enableUser(ctx, (await admin(request)).user.name, param(request, 'name')))

  app.get(`${prefix}/admin/devices`, { schema: { querystring: { type: 'object', additionalProperties: false, properties: { user: NAME } } } }, async (request) => {
    await admin(request)
    return { devices: await offboarding.listDevices(ctx, (request.query as { user?: string }).user) }
  })
  app.post(`${prefix}/admin/devices/:id/revoke`, { schema: { body: REASON } }, async (request) => offboarding.revokeDevice(ctx, (await admin(request)).user.name, param(request, 'id'), reasonOf(request)))

  app.post(`${prefix}/admin/enroll-codes/revoke`, { schema: { body: { type: 'object', additionalProperties: false, required: ['user'], properties: { user: NAME } } } }, async (request) => {
    return offboarding.revokeEnrollmentCodes(ctx, (await admin(request)).user.name, (request.body as { user: string }).user)
  })

  app.get(`${prefix}/admin/verifiers`, async (request) => {
    await admin(request)
    return { verifiers: await offboarding.listVerifiers(ctx) }
  })
  app.post(`${prefix}/admin/verifiers/:name/rotate`, { schema: { body: EMPTY } }, async (request) => offboarding.rotateVerifier(ctx, (await admin(request)).user.name, param(request, 'name')))
  app.post(`${prefix}/admin/verifiers/:name/remove`, { schema: { body: EMPTY } }, async (request) => offboarding.removeVerifier(ctx, (await admin(request)).user.name, param(request, 'name')))
}
