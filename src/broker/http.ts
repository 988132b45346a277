// The broker's HTTP API (fastify). Routes authenticate, call one function of the broker, and
// return its result; every failure leaves as application/problem+json without internals.
import { createHash } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { verifyAuditLog } from '../audit/verify-log.js'
import { registerBreakGlassRoutes } from './breakglass/routes.js'
import { registerGatewayRoutes } from './gateway/routes.js'
import { API_PREFIX, schemas, type CreateRequestBody, type EnrollBody, type Problem, type RenewBody } from '../wire/api.js'
import { ApiError, authFailed, badInput } from './api-error.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from './context.js'
import { authenticateDevice } from './device-auth.js'
import { enrollDevice } from './enrollment.js'
import { approveRequest, cancelRequest, createRequest, denyRequest, listRequestsFor, resultFor, getRequestFor, waitForRequest } from './requests.js'
import { getSessionFor, grantFor, introspect, revokeSession } from './sessions.js'
import { publicSession } from './store/sqlite-store.js'
import { deregisterDevice } from './deregistration.js'
import { recordHeartbeat } from './heartbeat.js'
import { renewSession } from './renewal.js'
import { sessionProof } from './session-proof.js'

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string
  }
}

const MAX_WAIT_SECONDS = 30

export function buildHttpApi(ctx: BrokerContext, log: (line: string) => void, tls?: { cert: Buffer; key: Buffer }): FastifyInstance {
  const app = (tls
    ? Fastify({ logger: false, bodyLimit: 64 * 1024, return503OnClosing: true, https: tls })
    : Fastify({ logger: false, bodyLimit: 64 * 1024, return503OnClosing: true })) as unknown as FastifyInstance

  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string
    if ((body as string).length === 0) return done(null, {})
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(badInput('The request body is not valid JSON.'), undefined)
    }
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  app.setErrorHandler((error, request, reply) => sendProblem(reply, toApiError(error, log, request)))
  app.setNotFoundHandler((request, reply) => sendProblem(reply, new ApiError(404, 'not-found', `No such endpoint: ${request.method} ${request.url.split('?')[0]}`)))

  const actorOf = (request: FastifyRequest): Actor =>
    authenticateDevice(ctx, request.headers.authorization, request.method, request.url, request.rawBody)

  app.get('/healthz', async () => ({ status: 'ok', issuer: ctx.issuer, time: new Date(ctx.now()).toISOString() }))
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return { keys: [ctx.signingKey.publicJwk] }
  })

  app.post(`${API_PREFIX}/enroll`, { schema: { body: schemas.enroll } }, async (request, reply) => {
    reply.code(201)
    return enrollDevice(ctx, request.body as EnrollBody)
  })

  app.get(`${API_PREFIX}/whoami`, async (request) => {
    const actor = actorOf(request)
    const device = ctx.store.getDevice(actor.deviceId)!
    return { user: actor.user.name, roles: actor.user.roles, org: actor.user.org, deviceId: device.id, deviceName: device.name }
  })

  app.post(`${API_PREFIX}/requests`, { schema: { body: schemas.createRequest } }, async (request, reply) => {
    const actor = actorOf(request)
    const { status, result } = createRequest(ctx, actor, request.body as CreateRequestBody)
    reply.code(status)
    return result
  })

  app.get(`${API_PREFIX}/requests`, async (request) => {
    const actor = actorOf(request)
    const pending = (request.query as { pending?: string }).pending === 'true'
    return { requests: listRequestsFor(ctx, actor, pending) }
  })

  app.get(`${API_PREFIX}/requests/:id`, async (request) => {
    const actor = actorOf(request)
    const { id } = request.params as { id: string }
    const wait = Math.min(MAX_WAIT_SECONDS, Math.max(0, Number((request.query as { wait?: string }).wait ?? 0) || 0))
    if (wait === 0) return resultFor(ctx, actor, getRequestFor(ctx, actor, id))
    const gone = new AbortController()
    request.raw.once('close', () => gone.abort())
    return waitForRequest(ctx, actor, id, wait, gone.signal)
  })

  app.post(`${API_PREFIX}/requests/:id/approve`, { schema: { body: schemas.comment } }, async (request) => {
    const actor = actorOf(request)
    return approveRequest(ctx, actor, (request.params as { id: string }).id, (request.body as { comment?: string }).comment)
  })
  app.post(`${API_PREFIX}/requests/:id/deny`, { schema: { body: schemas.reason } }, async (request) => {
    const actor = actorOf(request)
    return denyRequest(ctx, actor, (request.params as { id: string }).id, (request.body as { reason: string }).reason)
  })
  app.post(`${API_PREFIX}/requests/:id/cancel`, async (request) => {
    const actor = actorOf(request)
    return cancelRequest(ctx, actor, (request.params as { id: string }).id)
  })

  app.get(`${API_PREFIX}/sessions`, async (request) => {
    const actor = actorOf(request)
    const all = (request.query as { all?: string }).all === 'true'
    const sessions = ctx.store.listSessions({ user: actor.user.name, activeOnly: !all }, ctx.now() / 1000)
    return { sessions: sessions.map(publicSession), now: new Date(ctx.now()).toISOString() }
  })
  app.get(`${API_PREFIX}/sessions/:id`, async (request) => {
    const actor = actorOf(request)
    const session = getSessionFor(ctx, actor, (request.params as { id: string }).id)
    return { session: { ...publicSession(session), lastVerifiedAt: session.lastVerifiedAt }, grant: grantFor(ctx, actor, session) }
  })
  app.post(`${API_PREFIX}/sessions/:id/revoke`, { schema: { body: schemas.optionalReason } }, async (request) => {
    const actor = actorOf(request)
    const reason = (request.body as { reason?: string } | undefined)?.reason ?? 'revoked by user'
    return { session: publicSession(revokeSession(ctx, actor, (request.params as { id: string }).id, reason)) }
  })

  app.post(`${API_PREFIX}/sessions/:id/heartbeat`, async (request) => {
    const actor = actorOf(request)
    return recordHeartbeat(ctx, actor, (request.params as { id: string }).id)
  })
  app.post(`${API_PREFIX}/sessions/:id/renew`, { schema: { body: schemas.renew } }, async (request) => {
    const actor = actorOf(request)
    return renewSession(ctx, actor, (request.params as { id: string }).id, (request.body as RenewBody).ttlSeconds)
  })
  app.get(`${API_PREFIX}/sessions/:id/proof`, async (request) => {
    const actor = actorOf(request)
    return sessionProof(ctx, actor, (request.params as { id: string }).id)
  })
  app.post(`${API_PREFIX}/device/deregister`, async (request) => {
    const actor = actorOf(request)
    return deregisterDevice(ctx, actor)
  })

  app.post(`${API_PREFIX}/introspect`, async (request) => {
    const verifier = verifierOf(ctx, request) ?? `device:${actorOf(request).user.name}`
    const token = (request.body as { token?: unknown } | undefined)?.token
    if (typeof token !== 'string' || token.length === 0) throw badInput('Send the token to check as "token".')
    return introspect(ctx, token, verifier)
  })

  registerBreakGlassRoutes(app, ctx, actorOf, API_PREFIX)
  registerGatewayRoutes(app, ctx, actorOf, (request) => verifierOf(ctx, request), API_PREFIX)

  app.get(`${API_PREFIX}/audit`, async (request) => {
    const actor = actorOf(request)
    const query = request.query as { session?: string; since?: string; limit?: string }
    const limit = Math.min(10000, Math.max(1, Number(query.limit ?? 1000) || 1000))
    const oversight = hasAnyRole(actor.user, OVERSIGHT_ROLES)
    if (query.session && !oversight) getSessionFor(ctx, actor, query.session)
    const events = [...ctx.store.auditEvents({ sessionId: query.session, since: query.since, actor: oversight || query.session ? undefined : actor.user.name, limit })]
    return { events }
  })
  app.get(`${API_PREFIX}/audit/verify`, async (request) => {
    actorOf(request)
    return verifyAuditLog(ctx.store.file)
  })

  return app
}

/** A verifier (gateway, jump host) authenticates introspection calls with its bearer token. */
function verifierOf(ctx: BrokerContext, request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (!header?.startsWith('Bearer ')) return undefined
  const name = ctx.store.verifierByTokenHash(createHash('sha256').update(header.slice(7).trim()).digest('hex'))
  if (!name) throw authFailed('Unknown verifier token.')
  return `verifier:${name}`
}

function toApiError(error: unknown, log: (line: string) => void, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error
  const e = error as { validation?: { instancePath: string; message?: string }[]; statusCode?: number; code?: string; message?: string }
  if (e.validation) {
    const detail = e.validation.map((v) => `${v.instancePath.slice(1) || 'body'} ${v.message ?? 'is invalid'}`).join('; ')
    return badInput(`The request is not valid: ${detail}.`)
  }
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return badInput('Send a JSON body (content-type: application/json).')
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new ApiError(e.statusCode, 'bad-input', 'The request is not valid.')
  log(`error: ${request.method} ${request.url.split('?')[0]}: ${e.message ?? String(error)}`)
  return new ApiError(500, 'internal', 'The broker failed to handle this call; the operator can find details in its log.')
}

function sendProblem(reply: FastifyReply, error: ApiError): FastifyReply {
  const problem: Problem = {
    type: `urn:jit:problem:${error.code}`,
    title: error.code,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...error.extra,
  }
  return reply.code(error.status).type('application/problem+json').send(problem)
}
