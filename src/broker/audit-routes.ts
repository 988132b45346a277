// The audit endpoints that read the whole log: verification (checked against the checkpoints the
// caller holds, then a checkpoint of the verified head handed back), checkpoints, and the export.
// Verification and export are for admin and security only; both read a snapshot in batches,
// verification on worker threads on SQLite (audit-walk.ts): the broker keeps answering while a
// large log is walked.
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ExportFormat } from '../audit/export.js'
import { badInput, forbidden } from './api-error.js'
import { checkpointHead, latestCheckpoint, publicKeyOf, verifyAnchored } from './audit-anchor.js'
import { auditExport } from './audit-export.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from './context.js'

const MAX_ANCHORS = 8

export function registerAuditRoutes(
  app: FastifyInstance,
  ctx: BrokerContext,
  actorOf: (request: FastifyRequest) => Promise<Actor>,
  verifierOf: (request: FastifyRequest) => Promise<string>,
  prefix: string,
): void {
  // The audit log is read from snapshots of what is committed (no writer waits for a long walk
  // or export); checkpoints are written through the store.
  const store = ctx.store
  const oversight = async (request: FastifyRequest): Promise<Actor> => {
    const actor = await actorOf(request)
    if (!hasAnyRole(actor.user, OVERSIGHT_ROLES)) throw forbidden('Only admin and security can verify or export the whole audit log.')
    return actor
  }

  app.get(`${prefix}/audit/verify`, { schema: { querystring: { type: 'object', additionalProperties: false, properties: { anchors: { type: 'string', maxLength: MAX_ANCHORS * 2048 } } } } }, async (request) => {
    await oversight(request)
    const anchors = ((request.query as { anchors?: string }).anchors ?? '').split(',').filter((a) => a.length > 0)
    if (anchors.length > MAX_ANCHORS) throw badInput(`Send at most ${MAX_ANCHORS} checkpoints.`)
    const result = await verifyAnchored(store, { publicKey: publicKeyOf(ctx.signingKey), kid: ctx.signingKey.kid, anchors, offMainThread: true })
    if (!result.ok) return result
    // On demand: a checkpoint of the head just verified, for the caller to keep.
    const head = result.head
    const checkpoint = head ? await checkpointHead(store, ctx.signingKey, ctx.issuer, ctx.now(), head) : undefined
    return { ...result, checkpoint: checkpoint?.jws }
  })

  app.post(`${prefix}/audit/checkpoints`, async (request, reply) => {
    await oversight(request)
    const checkpoint = await checkpointHead(store, ctx.signingKey, ctx.issuer, ctx.now())
    reply.code(201)
    return { checkpoint }
  })

  // Verifiers and every enrolled device may keep the newest checkpoint: the more copies held
  // outside the database, the less a rewrite can hide.
  app.get(`${prefix}/audit/checkpoints/latest`, async (request) => {
    if (request.headers.authorization?.startsWith('Bearer ')) await verifierOf(request)
    else await actorOf(request)
    return { checkpoint: await latestCheckpoint(store) }
  })

  app.get(`${prefix}/audit/export`, { schema: { querystring: { type: 'object', additionalProperties: false, required: ['format'], properties: { format: { type: 'string', enum: ['jsonl', 'csv'] } } } } }, async (request, reply) => {
    await oversight(request)
    const format = (request.query as { format: ExportFormat }).format
    reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
    return Readable.from(auditExport(store, format, { issuer: ctx.issuer, jwk: ctx.signingKey.publicJwk }))
  })
}
