// The audit endpoints that read the whole log: verification (checked against the checkpoints the
// caller holds, then a checkpoint of the verified head handed back), checkpoints, and the export.
// Verification and export are for admin and security only, and verification runs on a worker
// thread: the broker keeps answering while a large log is walked.
import { DatabaseSync } from 'node:sqlite'
import { Readable } from 'node:stream'
import type { AuditEvent } from '../wire/api.js'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { exportLines, type ExportFormat } from '../audit/export.js'
import { badInput, forbidden } from './api-error.js'
import { checkpointHead, latestCheckpoint, listCheckpoints, publicKeyOf, verifyAnchored } from './audit-anchor.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from './context.js'
import { sqliteOf } from './store/sqlite-async-store.js'

const MAX_ANCHORS = 8

/**
 * The whole log, read through a read-only connection of its own: a long export streams while
 * the broker keeps writing on its connection, and sees one snapshot from start to end.
 */
function* readAuditLog(file: string): Generator<AuditEvent> {
  const db = new DatabaseSync(file, { readOnly: true })
  db.exec('BEGIN')
  try {
    for (const row of db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<Record<string, unknown>>) {
      yield {
        seq: row.seq as number,
        at: row.at as string,
        type: row.type as string,
        severity: row.severity as AuditEvent['severity'],
        actor: row.actor as string,
        sessionId: (row.session_id as string | null) ?? undefined,
        requestId: (row.request_id as string | null) ?? undefined,
        data: JSON.parse(row.data as string),
        prevHash: row.prev_hash as string,
        hash: row.hash as string,
      }
    }
  } finally {
    db.exec('ROLLBACK')
    db.close()
  }
}

export function registerAuditRoutes(
  app: FastifyInstance,
  ctx: BrokerContext,
  actorOf: (request: FastifyRequest) => Promise<Actor>,
  verifierOf: (request: FastifyRequest) => Promise<string>,
  prefix: string,
): void {
  // The audit log is read from the SQLite file itself, on connections (and worker threads) of
  // its own; checkpoints are written through the store, in turn with its transactions.
  const sqlite = sqliteOf(ctx.store)
  const oversight = async (request: FastifyRequest): Promise<Actor> => {
    const actor = await actorOf(request)
    if (!hasAnyRole(actor.user, OVERSIGHT_ROLES)) throw forbidden('Only admin and security can verify or export the whole audit log.')
    return actor
  }

  app.get(`${prefix}/audit/verify`, { schema: { querystring: { type: 'object', additionalProperties: false, properties: { anchors: { type: 'string', maxLength: MAX_ANCHORS * 2048 } } } } }, async (request) => {
    await oversight(request)
    const anchors = ((request.query as { anchors?: string }).anchors ?? '').split(',').filter((a) => a.length > 0)
    if (anchors.length > MAX_ANCHORS) throw badInput(`Send at most ${MAX_ANCHORS} checkpoints.`)
    const result = await verifyAnchored(sqlite.sqlite.file, { publicKey: publicKeyOf(ctx.signingKey), kid: ctx.signingKey.kid, anchors, offMainThread: true })
    if (!result.ok) return result
    // On demand: a checkpoint of the head just verified, for the caller to keep.
    const head = result.head
    const checkpoint = head ? await sqlite.run((store) => checkpointHead(store, ctx.signingKey, ctx.issuer, ctx.now(), head)) : undefined
    return { ...result, checkpoint: checkpoint?.jws }
  })

  app.post(`${prefix}/audit/checkpoints`, async (request, reply) => {
    await oversight(request)
    const checkpoint = await sqlite.run((store) => checkpointHead(store, ctx.signingKey, ctx.issuer, ctx.now()))
    reply.code(201)
    return { checkpoint }
  })

  // Verifiers and every enrolled device may keep the newest checkpoint: the more copies held
  // outside the database, the less a rewrite can hide.
  app.get(`${prefix}/audit/checkpoints/latest`, async (request) => {
    if (request.headers.authorization?.startsWith('Bearer ')) await verifierOf(request)
    else await actorOf(request)
    return { checkpoint: await sqlite.run(latestCheckpoint) }
  })

  app.get(`${prefix}/audit/export`, { schema: { querystring: { type: 'object', additionalProperties: false, required: ['format'], properties: { format: { type: 'string', enum: ['jsonl', 'csv'] } } } } }, async (request, reply) => {
    await oversight(request)
    const format = (request.query as { format: ExportFormat }).format
    const checkpoints = await sqlite.run(listCheckpoints)
    reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
    return Readable.from(exportLines(format, { issuer: ctx.issuer, jwk: ctx.signingKey.publicJwk }, readAuditLog(sqlite.sqlite.file), checkpoints))
  })
}
