// The sign-in endpoints (anonymous, like /enroll: the provider's answer is the proof of who).
// Code flow: /oidc/authorize gives the provider's URL for the CLI's loopback redirect; /oidc/enroll
// exchanges the code the browser brought back and enrolls the device. Device flow (opt-in on the
// CLI): /oidc/device starts it; /oidc/device/enroll waits a while for the user to finish at the
// provider (202 while they have not) and then enrolls the device.
import type { FastifyInstance } from 'fastify'
import { OidcAuthorizeBody, OidcDevicePollBody, OidcDeviceStartBody, OidcEnrollBody } from '../../wire/api-bodies.js'
import type { OidcDeviceFlow } from '../../wire/api.js'
import { ApiError, authFailed } from '../api-error.js'
import type { BrokerContext } from '../context.js'
import { ProviderRefused, ProviderUnreachable, authorizationUrl, exchangeCode, pollDeviceFlow, startDeviceFlow } from './relying-party.js'
import { providerNamed, signIn } from './sign-in.js'

/** How long one /oidc/device/enroll call waits on the provider before answering 202. */
const DEVICE_POLL_MS = 20_000

export function registerOidcRoutes(app: FastifyInstance, ctx: BrokerContext, prefix: string, log: (line: string) => void): void {
  const asked = async <T>(provider: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call()
    } catch (error) {
      if (error instanceof ProviderRefused) throw authFailed(`${provider} refused the sign-in. Try again; if it persists, ask the broker operator.`)
      if (error instanceof ProviderUnreachable) {
        log(`warning: identity provider ${provider}: ${error.message}`)
        throw new ApiError(503, 'unavailable', `The broker cannot reach the identity provider ${provider}; nothing was done. Try again in a moment.`, { nextSteps: ['If it persists, tell the broker operator (the broker log says why).'] })
      }
      throw error
    }
  }

  app.post(`${prefix}/oidc/authorize`, { schema: { body: OidcAuthorizeBody } }, async (request) => {
    const body = request.body as OidcAuthorizeBody
    const provider = providerNamed(ctx, body.provider)
    return { provider: provider.name, url: await asked(provider.name, () => authorizationUrl(provider, body)) }
  })

  app.post(`${prefix}/oidc/enroll`, { schema: { body: OidcEnrollBody } }, async (request, reply) => {
    const body = request.body as OidcEnrollBody
    const provider = providerNamed(ctx, body.provider)
    const answer = await asked(provider.name, () => exchangeCode(provider, body))
    reply.code(201)
    return signIn(ctx, provider, answer, body)
  })

  app.post(`${prefix}/oidc/device`, { schema: { body: OidcDeviceStartBody } }, async (request): Promise<OidcDeviceFlow> => {
    const provider = providerNamed(ctx, (request.body as OidcDeviceStartBody).provider)
    return { provider: provider.name, ...(await asked(provider.name, () => startDeviceFlow(provider))) }
  })

  app.post(`${prefix}/oidc/device/enroll`, { schema: { body: OidcDevicePollBody } }, async (request, reply) => {
    const body = request.body as OidcDevicePollBody
    const provider = providerNamed(ctx, body.provider)
    const answer = await asked(provider.name, () => pollDeviceFlow(provider, body, DEVICE_POLL_MS))
    if (!answer) {
      reply.code(202)
      return { pending: true }
    }
    reply.code(201)
    return signIn(ctx, provider, answer, body)
  })
}
