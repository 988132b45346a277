// Collecting the credential of a request submitted with --no-wait: the broker hands the grant of
// an approved request only to the device that asked, so this device fetches it, caches it like
// `jit request` does, and stops tracking the request. Waiting here never cancels the request.
import type { CliContext } from '../context.js'
import { PendingError, PolicyDeniedError } from '../../errors.js'
import type { AccessRequest, RequestResult, SessionInfo } from '../../wire/api.js'
import { forgetPending } from './pending-requests.js'
import { pickupHint, settled, waitForDecision, type WaitHooks } from './request-access.js'

export interface PickupResult {
  request: AccessRequest
  session: SessionInfo
  cached: boolean
  expiresIn: number
}

export async function pickUp(cli: CliContext, requestId: string, options: { wait: boolean } & WaitHooks): Promise<PickupResult> {
  const client = await cli.client()
  const path = `/requests/${encodeURIComponent(requestId)}`
  let result: RequestResult
  try {
    const now = await client.get<RequestResult>(path)
    if (now.request.deviceId !== cli.deviceId) {
      throw new PolicyDeniedError(`Request ${requestId} was made from another device; only that device can collect its credential.`, [`it belongs to ${now.request.user}'s device ${now.request.deviceId}`])
    }
    let outcome = settled(now)
    if (!outcome) {
      if (!options.wait) throw new PendingError(`Request ${requestId} is still waiting for approval.`, [pickupHint(requestId)], { requestId, request: now.request })
      options.onPending?.(now)
      try {
        outcome = await waitForDecision(cli, requestId, options.timeoutSeconds ?? 3600, { keepOnGiveUp: true })
      } finally {
        options.onDone?.()
      }
    }
    result = outcome
  } catch (error) {
    // Decided either way: nothing more to tell about it on the next command.
    if (!(error instanceof PendingError)) forgetPending(requestId)
    throw error
  }
  forgetPending(requestId)
  const grant = result.grant!
  if (!grant.session.cacheAllowed) {
    throw new PolicyDeniedError(`Policy forbids caching the credential of ${grant.session.id}; it is handed only to jit exec, jit shell or jit connect, in memory.`, ['policy forbids caching this credential on the device'])
  }
  await cli.cache().put(grant)
  return { request: result.request, session: grant.session, cached: true, expiresIn: grant.expiresIn }
}
