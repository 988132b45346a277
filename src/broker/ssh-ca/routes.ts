// The SSH CA endpoints of the broker's HTTP API. ca.pub and the KRL are public (hosts fetch them
// with curl, and neither tells anything secret); signing is a device call like every other.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { SshCertificateBody } from '../../wire/api-bodies.js'
import { SSH_CA_PUB_PATH, SSH_CERTIFICATES_PATH, SSH_KRL_PATH } from '../../wire/ssh.js'
import type { Actor, BrokerContext } from '../context.js'
import { SshAuthority } from './authority.js'
import { KrlPublisher } from './krl.js'
import { issueSshCertificate } from './sign.js'

export function registerSshRoutes(app: FastifyInstance, ctx: BrokerContext, actorOf: (request: FastifyRequest) => Promise<Actor>, prefix: string): void {
  // Created (with the CA key, on first start) when the broker starts, not on first use.
  // The CA's key files live in the broker's data folder, whichever store holds the rest.
  const ca = new SshAuthority(ctx.dataDir, ctx.store)
  const krl = new KrlPublisher(ctx.store, ca, ctx.now)

  app.get(`${prefix}${SSH_CA_PUB_PATH}`, async (_request, reply) => {
    reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache')
    return `${(await ca.trusted(Math.floor(ctx.now() / 1000))).map((key) => key.publicLine).join('\n')}\n`
  })
  app.get(`${prefix}${SSH_KRL_PATH}`, async (_request, reply) => {
    reply.type('application/octet-stream').header('cache-control', 'no-store')
    return krl.current()
  })
  app.post(`${prefix}${SSH_CERTIFICATES_PATH}`, { schema: { body: SshCertificateBody } }, async (request, reply) => {
    const result = await issueSshCertificate(ctx, ca, await actorOf(request), request.body as SshCertificateBody)
    reply.code(201)
    return result
  })
}
