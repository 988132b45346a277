// The SPIFFE endpoints of the broker's HTTP API. The bundle is public (relying servers fetch it,
// and it holds only public keys); validating a JWT-SVID is public too (it answers only whether a
// token verifies). Issuing an SVID needs an authenticated workload: the handlers take the workload
// as its authentication established it, so the routes exist where the broker passes workloadOf.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from '../api-error.js'
import type { BrokerContext } from '../context.js'
import { SPIFFE_BUNDLE_PATH, SPIFFE_JWT_SVIDS_PATH, SPIFFE_JWT_VALIDATE_PATH, SPIFFE_X509_SVIDS_PATH, spiffeSchemas, type JwtSvidBody, type JwtValidateBody, type X509SvidBody } from '../../wire/spiffe.js'
import type { SpiffeAuthority } from './authority.js'
import { spiffeBundle } from './bundle.js'
import { issueJwtSvid, validateJwtSvid, type JwtSvid } from './jwt-svid.js'
import { issueX509Svid, type X509Svid } from './x509-svid.js'

/** A workload its attestation has authenticated, and the end of the session it holds. */
export interface AuthenticatedWorkload {
  spiffeId: string
  sessionExpiresAt: Date
  /** The session the SVID belongs to, for the audit record. */
  sessionId?: string
}

export function spiffeAuthorityOf(ctx: BrokerContext): SpiffeAuthority {
  if (!ctx.spiffe) throw new ApiError(503, 'unavailable', 'This broker has no SPIFFE authority loaded.')
  return ctx.spiffe
}

/** POST /spiffe/x509-svids for an authenticated workload: a 400 and no record when the CSR is not right. */
export async function x509SvidForWorkload(ctx: BrokerContext, workload: AuthenticatedWorkload, body: X509SvidBody): Promise<X509Svid> {
  const svid = await issueX509Svid(spiffeAuthorityOf(ctx), { spiffeId: workload.spiffeId, csrPem: body.csr, notAfter: workload.sessionExpiresAt, now: ctx.now() })
  await ctx.store.audit({ type: 'spiffe.x509-svid.issued', actor: workload.spiffeId, data: { spiffeId: svid.spiffeId, serialNumber: svid.serialNumber, notAfter: svid.notAfter }, sessionId: workload.sessionId })
  return svid
}

/** POST /spiffe/jwt-svids for an authenticated workload. */
export async function jwtSvidForWorkload(ctx: BrokerContext, workload: AuthenticatedWorkload, body: JwtSvidBody): Promise<JwtSvid> {
  const svid = await issueJwtSvid(spiffeAuthorityOf(ctx), { spiffeId: workload.spiffeId, audience: body.audience, expiresAt: workload.sessionExpiresAt, now: ctx.now() })
  // The token itself is a bearer credential: never in the audit trail.
  await ctx.store.audit({ type: 'spiffe.jwt-svid.issued', actor: workload.spiffeId, data: { spiffeId: svid.spiffeId, audience: svid.audience, expiresAt: svid.expiresAt }, sessionId: workload.sessionId })
  return svid
}

export function registerSpiffeRoutes(app: FastifyInstance, ctx: BrokerContext, prefix: string, workloadOf?: (request: FastifyRequest) => Promise<AuthenticatedWorkload>): void {
  app.get(`${prefix}${SPIFFE_BUNDLE_PATH}`, async (_request, reply) => {
    reply.type('application/json').header('cache-control', 'no-cache')
    return spiffeBundle(spiffeAuthorityOf(ctx))
  })
  app.post(`${prefix}${SPIFFE_JWT_VALIDATE_PATH}`, { schema: { body: spiffeSchemas.jwtValidate } }, async (request) => {
    const body = request.body as JwtValidateBody
    return validateJwtSvid(spiffeAuthorityOf(ctx), body.token, body.audience)
  })
  if (!workloadOf) return
  app.post(`${prefix}${SPIFFE_X509_SVIDS_PATH}`, { schema: { body: spiffeSchemas.x509Svid } }, async (request, reply) => {
    const svid = await x509SvidForWorkload(ctx, await workloadOf(request), request.body as X509SvidBody)
    reply.code(201)
    return svid
  })
  app.post(`${prefix}${SPIFFE_JWT_SVIDS_PATH}`, { schema: { body: spiffeSchemas.jwtSvid } }, async (request, reply) => {
    const svid = await jwtSvidForWorkload(ctx, await workloadOf(request), request.body as JwtSvidBody)
    reply.code(201)
    return svid
  })
}
