// The broker's HTTP API (fastify). Routes authenticate, call one function of the broker, and
// return its result; every failure leaves as application/problem+json without internals.
import { verifierTokenHash } from './offboarding.js'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { registerAuditRoutes } from './audit-routes.js'
import { registerAdminRoutes } from './admin-routes.js'
import { registerReportRoutes } from './reports/report-routes.js'
import { registerBreakGlassRoutes } from './breakglass/routes.js'
import { registerSshRoutes } from './ssh-ca/routes.js'
import { registerSpiffeRoutes } from './spiffe/routes.js'
import { svidHolder } from './workloads/svid-holder.js'
import { API_PREFIX, DEVICE_AUTH_SCHEME, type Problem } from '../wire/api.js'
import { CommentBody, CreateRequestBody, EmptyBody, EnrollBody, IntrospectBody, OptionalReasonBody, ReasonBody, RenewBody } from '../wire/api-bodies.js'
import { isoInstant } from '../util/since.js'
import { registerReachableAssetsRoute } from './reachable-assets.js'
import { registerLiveSessionsRoute } from './live-sessions.js'
import { registerGatewayRoutes } from './gateway/routes.js'
import { ApiError, authFailed, badInput } from './api-error.js'
import { isDatabaseAway } from './store/postgres/errors.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from './context.js'
import { authenticateDevice } from './device-auth.js'
import { enrollDevice } from './enrollment.js'
import { approveRequest, cancelRequest, createRequest, denyRequest, listRequestsFor, resultFor, getRequestFor, waitForRequest } from './requests.js'
import { overseenSession } from './session-oversight.js'
import { grantFor, introspect, revokeSession } from './sessions.js'
import { publicSession } from './store/records.js'
import { deregisterDevice } from './deregistration.js'
import { recordHeartbeat } from './heartbeat.js'
import { renewSession } from './renewal.js'
import { sessionProof } from './session-proof.js'
import { ticketOfRequest, ticketOfSession } from './tickets/check.js'
import { registerTicketRoutes } from './tickets/routes.js'
import { registerOidcRoutes } from './oidc/routes.js'
import { buildInfo } from '../util/build-info.js'
import { registerWorkloadRoutes, workloadInView } from './workloads/routes.js'

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string
  }
}

const MAX_WAIT_SECONDS = 30

/** How long a caller may take: to send headers, to send the whole request (a slow body), and to stay idle on a connection (past the longest long-poll). */
export interface HttpLimits {
  headersTimeoutMs: number
  requestTimeoutMs: number
  idleTimeoutMs: number
  /** How often Node checks requests against those timeouts. */
  checkIntervalMs: number
}

export const HTTP_LIMITS: HttpLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 15_000, idleTimeoutMs: (MAX_WAIT_SECONDS + 30) * 1000, checkIntervalMs: 1000 }

export function buildHttpApi(ctx: BrokerContext, log: (line: string) => void, tls?: { cert: Buffer; key: Buffer }, limits: HttpLimits = HTTP_LIMITS): FastifyInstance {
  const server = { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: limits.checkIntervalMs }
  const options = {
    logger: false,
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    // Bodies are checked as sent: an unknown key or a wrong type is refused, never dropped or coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  } as const
  const app = (tls
    ? Fastify({ ...options, https: { ...tls, ...server } })
    : Fastify({ ...options, http: server })) as unknown as FastifyInstance

  // A parameter given twice (?since=a&since=b) is a mistake or a probe, never an array to pass on.
  app.addHook('onRequest', async (request) => {
    const query = request.url.indexOf('?')
    if (query < 0) return
    const seen = new Set<string>()
    for (const key of new URLSearchParams(request.url.slice(query + 1)).keys()) {
      if (seen.has(key)) throw badInput(`Query parameter "${key.slice(0, 64)}" is given more than once.`)
      seen.add(key)
    }
  })

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

  const actorOf = async (request: FastifyRequest): Promise<Actor> => ({
    ...(await authenticateDevice(ctx, request.headers.authorization, request.method, request.url, request.rawBody)),
    sourceHost: request.ip,
  })

  // A load balancer's check: ok only when the store answers too (503 unavailable when its database does not).
  app.get('/healthz', async () => {
    await ctx.store.query('SELECT 1')
    // The version lets `jit version` tell whether this broker and the CLI go together.
    return { status: 'ok', issuer: ctx.issuer, time: new Date(ctx.now()).toISOString(), version: buildInfo().version }
  })
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return { keys: [ctx.signingKey.publicJwk] }
  })

  app.post(`${API_PREFIX}/enroll`, { schema: { body: EnrollBody } }, async (request, reply) => {
    reply.code(201)
    return enrollDevice(ctx, request.body as EnrollBody)
  })

  app.get(`${API_PREFIX}/whoami`, async (request) => {
    const actor = await actorOf(request)
    const device = (await ctx.store.devices.get(actor.deviceId))!
    return { user: actor.user.name, roles: actor.user.roles, org: actor.user.org, deviceId: device.id, deviceName: device.name }
  })

  app.post(`${API_PREFIX}/requests`, { schema: { body: CreateRequestBody } }, async (request, reply) => {
    const actor = await actorOf(request)
    const body = request.body as CreateRequestBody
    const { status, result } = await createRequest(ctx, actor, body)
    reply.code(status)
    return result
  })

  app.get(`${API_PREFIX}/requests`, async (request) => {
    const actor = await actorOf(request)
    const pending = (request.query as { pending?: string }).pending === 'true'
    return { requests: await listRequestsFor(ctx, actor, pending) }
  })

  app.get(`${API_PREFIX}/requests/:id`, async (request) => {
    const actor = await actorOf(request)
    const { id } = request.params as { id: string }
    const wait = Math.min(MAX_WAIT_SECONDS, Math.max(0, Number((request.query as { wait?: string }).wait ?? 0) || 0))
    if (wait === 0) return resultFor(ctx, actor, await getRequestFor(ctx, actor, id))
    const gone = new AbortController()
    request.raw.once('close', () => gone.abort())
    return waitForRequest(ctx, actor, id, wait, gone.signal)
  })

  app.post(`${API_PREFIX}/requests/:id/approve`, { schema: { body: CommentBody } }, async (request) => {
    const actor = await actorOf(request)
    const id = (request.params as { id: string }).id
    return approveRequest(ctx, actor, id, (request.body as { comment?: string }).comment, await ticketOfRequest(ctx, id))
  })
  app.post(`${API_PREFIX}/requests/:id/deny`, { schema: { body: ReasonBody } }, async (request) => {
    const actor = await actorOf(request)
    return denyRequest(ctx, actor, (request.params as { id: string }).id, (request.body as { reason: string }).reason)
  })
  app.post(`${API_PREFIX}/requests/:id/cancel`, { schema: { body: EmptyBody } }, async (request) => {
    const actor = await actorOf(request)
    return cancelRequest(ctx, actor, (request.params as { id: string }).id)
  })

  app.get(`${API_PREFIX}/sessions`, async (request) => {
    const actor = await actorOf(request)
    const all = (request.query as { all?: string }).all === 'true'
    const sessions = await ctx.store.sessions.list({ user: actor.user.name, activeOnly: !all }, ctx.now() / 1000)
    return { sessions: sessions.map(publicSession), now: new Date(ctx.now()).toISOString() }
  })
  app.get(`${API_PREFIX}/sessions/:id`, async (request) => {
    const actor = await actorOf(request)
    const { session } = await overseenSession(ctx, actor, (request.params as { id: string }).id)
    return { session: { ...publicSession(session), lastVerifiedAt: session.lastVerifiedAt }, grant: await grantFor(ctx, actor, session) }
  })
  app.post(`${API_PREFIX}/sessions/:id/revoke`, { schema: { body: OptionalReasonBody } }, async (request) => {
    const actor = await actorOf(request)
    const reason = (request.body as { reason?: string } | undefined)?.reason ?? 'revoked by user'
    return { session: publicSession(await revokeSession(ctx, actor, (request.params as { id: string }).id, reason)) }
  })

  app.post(`${API_PREFIX}/sessions/:id/heartbeat`, { schema: { body: EmptyBody } }, async (request) => {
    const actor = await actorOf(request)
    return recordHeartbeat(ctx, actor, (request.params as { id: string }).id)
  })
  app.post(`${API_PREFIX}/sessions/:id/renew`, { schema: { body: RenewBody } }, async (request) => {
    const actor = await actorOf(request)
    const id = (request.params as { id: string }).id
    return renewSession(ctx, actor, id, (request.body as RenewBody).ttlSeconds, await ticketOfSession(ctx, actor, id))
  })
  app.get(`${API_PREFIX}/sessions/:id/proof`, async (request) => {
    const actor = await actorOf(request)
    return sessionProof(ctx, actor, (request.params as { id: string }).id)
  })
  app.post(`${API_PREFIX}/device/deregister`, { schema: { body: EmptyBody } }, async (request) => {
    const actor = await actorOf(request)
    return deregisterDevice(ctx, actor)
  })

  // Verifiers only: an enrolled device must not read another user's claims, nor count as an asset.
  app.post(`${API_PREFIX}/introspect`, { schema: { body: IntrospectBody } }, async (request) => {
    const verifier = await verifierOf(ctx, request)
    const body = request.body as { token: string; proof?: string; challenge?: string }
    if ((body.proof === undefined) !== (body.challenge === undefined)) throw badInput('Send a proof of possession with the challenge it answers ("proof" and "challenge"), or neither.')
    return introspect(ctx, body.token, verifier, body.proof !== undefined ? { proof: body.proof, challenge: body.challenge! } : undefined)
  })

  registerOidcRoutes(app, ctx, API_PREFIX, log)
  registerBreakGlassRoutes(app, ctx, actorOf, API_PREFIX)
  registerSshRoutes(app, ctx, actorOf, API_PREFIX)
  registerSpiffeRoutes(app, ctx, API_PREFIX, async (request) => svidHolder(ctx, await actorOf(request)))
  registerTicketRoutes(app, ctx, actorOf, API_PREFIX, log)
  registerReachableAssetsRoute(app, ctx, actorOf, API_PREFIX)
  registerLiveSessionsRoute(app, ctx, actorOf, API_PREFIX)
  registerGatewayRoutes(app, ctx, actorOf, (request) => verifierOf(ctx, request), API_PREFIX)

  app.get(`${API_PREFIX}/audit`, async (request) => {
    const actor = await actorOf(request)
    const query = request.query as { session?: string; since?: string; limit?: string; workload?: string }
    const limit = Math.min(10000, Math.max(1, Number(query.limit ?? 1000) || 1000))
    const oversight = hasAnyRole(actor.user, OVERSIGHT_ROLES)
    if (query.session && !oversight) await overseenSession(ctx, actor, query.session)
    const since = query.since === undefined ? undefined : isoInstant(query.since)
    if (query.since !== undefined && !since) throw badInput(`since "${query.since}" is not an ISO 8601 time.`)
    const workload = query.workload === undefined ? undefined : await workloadInView(ctx, actor, query.workload)
    const events = await ctx.store.auditLog.events({ sessionId: query.session, since, actor: workload?.spiffeId ?? (oversight || query.session ? undefined : actor.user.name), limit })
    return { events }
  })
  registerAuditRoutes(app, ctx, actorOf, (request) => verifierOf(ctx, request), API_PREFIX)
  registerAdminRoutes(app, ctx, actorOf, API_PREFIX)
  registerReportRoutes(app, ctx, actorOf, API_PREFIX)
  registerWorkloadRoutes(app, ctx, actorOf, API_PREFIX)

  return app
}

/** A verifier (gateway, jump host) authenticates introspection calls with its bearer token; its name. */
async function verifierOf(ctx: BrokerContext, request: FastifyRequest): Promise<string> {
  const header = request.headers.authorization
  if (header?.startsWith(`${DEVICE_AUTH_SCHEME} `)) {
    throw new ApiError(403, 'forbidden', 'Introspection answers verifiers (gateways, jump hosts) only, not devices.', {
      reasons: ['introspection answers verifiers only'],
      nextSteps: ['To check your own session: jit sessions show ID.'],
    })
  }
  if (!header?.startsWith('Bearer ')) throw authFailed('Introspection needs a verifier token: send Authorization: Bearer TOKEN, with a token from jit admin verifier add.')
  const name = await ctx.store.verifiers.byTokenHash(verifierTokenHash(header.slice(7).trim()))
  if (!name) throw authFailed('Unknown verifier token.')
  return name
}

function toApiError(error: unknown, log: (line: string) => void, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error
  const e = error as { validation?: { instancePath: string; keyword?: string; message?: string; params?: Record<string, unknown> }[]; statusCode?: number; code?: string; message?: string }
  if (e.validation) {
    return badInput(`The request is not valid: ${e.validation.map(describeViolation).join('; ')}.`)
  }
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return badInput('Send a JSON body (content-type: application/json).')
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new ApiError(e.statusCode, 'bad-input', 'The request is not valid.')
  log(`error: ${request.method} ${request.url.split('?')[0]}: ${e.message ?? String(error)}`)
  if (isDatabaseAway(error)) return databaseAway()
  return new ApiError(500, 'internal', 'The broker failed to handle this call; the operator can find details in its log.')
}

/** One schema violation, naming the field: `ttlSeconds must be integer`, `unknown field "color"`. */
function describeViolation(v: { instancePath: string; keyword?: string; message?: string; params?: Record<string, unknown> }): string {
  const at = v.instancePath.slice(1).replace(/\//g, '.')
  if (v.keyword === 'additionalProperties') return `unknown field "${String(v.params?.additionalProperty).slice(0, 64)}"${at ? ` in ${at}` : ''}`
  if (v.keyword === 'required') return `missing field "${String(v.params?.missingProperty)}"${at ? ` in ${at}` : ''}`
  return `${at || 'body'} ${v.message ?? 'is invalid'}`
}

/** The store's database does not answer: nothing was done, or nothing can be promised; the caller tries again later. */
export function databaseAway(): ApiError {
  return new ApiError(503, 'unavailable', 'The broker cannot reach its database; nothing this call asked for can be promised. Try again in a moment.', {
    nextSteps: ['If it persists, tell the broker operator (the broker log names the database).'],
  })
}

/** The problem document of an error, as every reply of the API carries it. */
export function problemOf(error: ApiError): Problem {
  return { type: `urn:jit:problem:${error.code}`, title: error.code, status: error.status, detail: error.message, code: error.code, ...error.extra }
}

function sendProblem(reply: FastifyReply, error: ApiError): FastifyReply {
  return reply.code(error.status).type('application/problem+json').send(problemOf(error))
}
