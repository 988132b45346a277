// My sessions as this device sees them: the broker's list joined with the credential cache,
// revoking one or all, and reading a cached credential back.
import type { CliContext } from '../context.js'
import type { CachedCredential } from '../keychain/credential-cache.js'
import { BrokerUnreachableError, UsageError } from '../../errors.js'
import { revokeFromDevice } from './revoke.js'
import type { Grant, SessionInfo } from '../../wire/api.js'

export interface SessionRow extends SessionInfo {
  cached: boolean
  /** Seconds left, from the broker's own clock. */
  secondsLeft: number
}

export async function listMySessions(cli: CliContext): Promise<SessionRow[]> {
  const client = await cli.client()
  const asked = performance.now()
  const [{ sessions, now }, cached] = await Promise.all([client.get<{ sessions: SessionInfo[]; now?: string }>('/sessions'), cli.cache().list()])
  const cachedIds = new Set(cached.map((entry) => entry.sessionId))
  // Cached entries of sessions the broker no longer lists as active are dead: drop them.
  const live = new Set(sessions.map((s) => s.id))
  for (const entry of cached.filter((e) => !live.has(e.sessionId))) await cli.cache().delete(entry.sessionId)
  return sessions.map((session) => ({ ...session, cached: cachedIds.has(session.id), secondsLeft: secondsLeft(session.expiresAt, now, asked) }))
}

/**
 * Time left by the broker's clock: its expiry minus its own "now", less the time since we asked
 * (monotonic). The laptop's wall clock plays no part; an old broker without `now` falls back to it.
 */
export function secondsLeft(expiresAt: string, brokerNow: string | undefined, askedAtMonotonicMs: number, monotonicNow = performance.now()): number {
  const reference = brokerNow ? Date.parse(brokerNow) + (monotonicNow - askedAtMonotonicMs) : Date.now()
  return Math.max(0, Math.floor((Date.parse(expiresAt) - reference) / 1000))
}

/**
 * Revokes one session or all of this device's (src/cli/sessions/revoke.ts: the cached credential
 * goes too). A broker that does not answer gets the id queued in the revocation journal (retried
 * on every jit run), and the error says it was queued; the ones after it are not tried.
 */
export async function revokeSessions(cli: CliContext, target: { id?: string; all?: boolean }, reason = 'revoked by user'): Promise<SessionInfo[]> {
  const client = await cli.client()
  const ids = target.all ? (await client.get<{ sessions: SessionInfo[] }>('/sessions')).sessions.filter((s) => s.deviceId === cli.deviceId).map((s) => s.id) : [target.id!]
  const revoked: SessionInfo[] = []
  for (const id of ids) {
    const revocation = await revokeFromDevice(cli, id, reason)
    if (revocation.outcome === 'queued') {
      throw new BrokerUnreachableError(`The broker did not answer: revocation of ${id} is queued in the revocation journal${revoked.length > 0 ? ` (revoked before it: ${revoked.map((s) => s.id).join(', ')})` : ''}.`, [
        'jit retries it at the start of every run; retry now with: jit revoke --pending',
        'Until the broker confirms, the session may still be usable by whoever holds its credential.',
      ], { queued: [id], revoked: revoked.map((s) => s.id) })
    }
    // Revoked, but the keychain kept the credential (locked): say so, as any keychain failure.
    if (revocation.cacheLeftBehind) throw revocation.cacheLeftBehind
    revoked.push(revocation.session)
  }
  return revoked
}

export async function cachedCredential(cli: CliContext, sessionId: string): Promise<CachedCredential> {
  const entry = await cli.cache().get(sessionId)
  if (!entry) {
    throw new UsageError(`No cached credential for ${sessionId} on this device (never cached, expired or revoked).`, [
      'List what is cached with: jit sessions',
    ])
  }
  return entry
}

/** The session's variables for a wrapped command, with its target account's login (libpq's PGHOST, PGUSER, PGPASSWORD, ...) when the grant carries one. */
export function credentialEnv(grant: Pick<Grant, 'session' | 'credential' | 'target'>): Record<string, string> {
  return {
    ...grant.target?.env,
    JIT_TOKEN: grant.credential,
    JIT_SESSION_ID: grant.session.id,
    JIT_ASSET: grant.session.asset,
    JIT_SCOPE: grant.session.scope,
    JIT_TICKET: grant.session.ticket,
    JIT_EXPIRES_AT: grant.session.expiresAt,
  }
}
