// Renewing a session: the broker decides how far (policy caps, audited); a credential cached on
// this device is replaced by the renewed one, with its new expiry.
import type { CliContext } from '../context.js'
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS } from '../../wire/limits.js'
import { UsageError } from '../../errors.js'
import { formatDuration, parseDuration } from '../../util/ttl.js'
import type { Grant, RenewBody, SessionInfo } from '../../wire/api.js'

export interface RenewResult {
  session: SessionInfo
  /** Seconds left after renewal, by the broker's clock. */
  expiresIn: number
  cached: boolean
}

export async function renewSession(cli: CliContext, sessionId: string, ttl?: string): Promise<RenewResult> {
  const body: RenewBody = {}
  if (ttl !== undefined) {
    body.ttlSeconds = parseDuration(ttl)
    if (body.ttlSeconds < MIN_TTL_SECONDS || body.ttlSeconds > MAX_TTL_SECONDS) {
      throw new UsageError(`TTL ${ttl} is out of range: ask for between ${formatDuration(MIN_TTL_SECONDS)} and ${formatDuration(MAX_TTL_SECONDS)}.`)
    }
  }
  const grant = await (await cli.client()).post<Grant>(`/sessions/${encodeURIComponent(sessionId)}/renew`, body)
  // Only a credential that is cached already is refreshed: renewing never starts caching one.
  const cached = grant.session.cacheAllowed && (await cli.cache().get(sessionId)) !== undefined
  if (cached) await cli.cache().put(grant)
  return { session: grant.session, expiresIn: grant.expiresIn, cached }
}
