// The gateway endpoints of the broker's HTTP API. A gateway authenticates as a verifier (its bearer
// token from `jit admin verifier add`) and gets only what concerns it; a device asks where the
// gateway of its own live session listens, and which connections a session carried.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  announcementSchema, connectionOpenedSchema, connectionRecordSchema, type ConnectionOpened, type ConnectionRecord, type GatewayAnnouncement, type GatewayAssets, type RevocationBatch, type SessionCommands,
} from '../../wire/gateway.js'
import { authFailed, badInput, conflict, forbidden } from '../api-error.js'
import type { Actor, BrokerContext } from '../context.js'
import { overseenSession } from '../session-oversight.js'
import { getSessionFor } from '../sessions.js'
import { commandsOfSession } from './command-logs.js'
import { CONNECTION_CLOSED, CONNECTION_OPENED, recordConnectionEvent } from './connection-records.js'
import { announceGateway, assetsFrontedBy, gatewayForAsset } from './gateways.js'
import { waitForEnds } from './revocation-stream.js'

/** A long poll never outlasts this; the gateway asks again at once. */
const MAX_WAIT_SECONDS = 25

export function registerGatewayRoutes(
  app: FastifyInstance,
  ctx: BrokerContext,
  actorOf: (request: FastifyRequest) => Promise<Actor>,
  verifierOf: (request: FastifyRequest) => Promise<string | undefined>,
  prefix: string,
): void {
  const gatewayOf = async (request: FastifyRequest): Promise<string> => {
    const verifier = await verifierOf(request)
    if (!verifier) throw authFailed('Gateway endpoints need a verifier token (Authorization: Bearer ...; jit admin verifier add NAME).')
    return verifier.replace(/^verifier:/, '')
  }

  app.get(`${prefix}/gateway/revocations`, async (request): Promise<RevocationBatch> => {
    await gatewayOf(request)
    const query = request.query as { since?: string; wait?: string }
    const since = query.since === undefined ? undefined : Number(query.since)
    if (since !== undefined && (!Number.isSafeInteger(since) || since < 0)) throw badInput('since must be a sequence number (0 or more).')
    const wait = Math.min(MAX_WAIT_SECONDS, Math.max(0, Number(query.wait ?? 0) || 0))
    const gone = new AbortController()
    request.raw.once('close', () => gone.abort())
    // Without `since`, a new follower learns only where the stream stands now.
    if (since === undefined) return { head: (await waitForEnds(ctx, Number.MAX_SAFE_INTEGER, 0, gone.signal)).head, ends: [] }
    return waitForEnds(ctx, since, wait * 1000, gone.signal)
  })

  app.get(`${prefix}/gateway/assets`, async (request): Promise<GatewayAssets> => {
    const gateway = await gatewayOf(request)
    return { gateway, assets: await assetsFrontedBy(ctx, gateway) }
  })

  app.post(`${prefix}/gateway/announce`, { schema: { body: announcementSchema } }, async (request) => {
    return announceGateway(ctx, await gatewayOf(request), request.body as GatewayAnnouncement)
  })

  app.post(`${prefix}/gateway/connections/opened`, { schema: { body: connectionOpenedSchema } }, async (request, reply) => {
    const result = await recordConnectionEvent(ctx, await gatewayOf(request), CONNECTION_OPENED, request.body as ConnectionOpened)
    reply.code(201)
    return result
  })

  app.post(`${prefix}/gateway/connections`, { schema: { body: connectionRecordSchema } }, async (request, reply) => {
    const result = await recordConnectionEvent(ctx, await gatewayOf(request), CONNECTION_CLOSED, request.body as ConnectionRecord)
    reply.code(201)
    return result
  })

  // The decoded commands of the session's protocol-aware connections: for those who oversee it too.
  app.get(`${prefix}/sessions/:id/commands`, async (request): Promise<SessionCommands> => {
    const { session } = await overseenSession(ctx, await actorOf(request), (request.params as { id: string }).id)
    return { sessionId: session.id, asset: session.asset, scope: session.scope, connections: await ctx.store.snapshot((read) => commandsOfSession(read, session.id)) }
  })

  app.get(`${prefix}/sessions/:id/gateway`, async (request) => {
    const actor = await actorOf(request)
    const session = await getSessionFor(ctx, actor, (request.params as { id: string }).id)
    if (session.deviceId !== actor.deviceId) throw forbidden('Only the device that holds the session can reach its gateway.')
    if (session.state !== 'active') throw conflict(`Session ${session.id} has ended (${session.state}); open a new one.`)
    return gatewayForAsset(ctx, session.asset)
  })
}
