// Revoking a session from this device, the one way every command does it (jit revoke, the end
// of jit exec/shell/connect/ssh, a drill, the journal's retries): one call to the broker with one
// timeout, the cached credential forgotten at the same time, and a broker that does not answer
// leaves the id in the revocation journal, retried on every later run.
import type { CliContext } from '../context.js'
import type { SessionInfo } from '../../wire/api.js'
import { addToJournal, isUnconfirmed, removeFromJournal } from './revocation-journal.js'

/**
 * How long the device waits for the broker to confirm a revocation. A hung broker must not keep
 * jit (and the terminal) waiting long after a command is done; past this the journal takes over,
 * and a start-up retry pays it once per silent broker, not once per queued session.
 */
export const REVOKE_TIMEOUT_MS = 5_000

/** The broker's revoke call: its answer, or the error it failed with (TimeoutError past REVOKE_TIMEOUT_MS). */
export async function askBrokerToRevoke(cli: CliContext, sessionId: string, reason: string): Promise<SessionInfo> {
  const client = await cli.client()
  const answer = await client.post<{ session: SessionInfo }>(`/sessions/${encodeURIComponent(sessionId)}/revoke`, { reason }, AbortSignal.timeout(REVOKE_TIMEOUT_MS))
  return answer.session
}

export type DeviceRevocation = (
  | { outcome: 'revoked'; session: SessionInfo }
  /** The broker did not answer: the revocation waits in the journal. */
  | { outcome: 'queued' }
) & {
  /** Set when the cached credential could not be removed from the keychain (locked or gone). */
  cacheLeftBehind?: Error
}

/**
 * Ends a session from this device. The broker is asked and the cached credential forgotten at
 * once (the user is done with it, whatever the broker says). Revoked: any journal entry for it
 * goes. No answer (down, unreachable, timed out, failing inside): queued in the journal. Any
 * other answer (a refusal) is thrown. `cache: false` when this run never cached the credential.
 */
export async function revokeFromDevice(cli: CliContext, sessionId: string, reason: string, options: { cache?: boolean } = {}): Promise<DeviceRevocation> {
  const forget = options.cache === false ? Promise.resolve(false) : cli.cache().delete(sessionId)
  const [revoked, forgotten] = await Promise.allSettled([askBrokerToRevoke(cli, sessionId, reason), forget])
  const left = forgotten.status === 'rejected' ? { cacheLeftBehind: forgotten.reason as Error } : {}
  if (revoked.status === 'fulfilled') {
    await removeFromJournal(sessionId)
    return { outcome: 'revoked', session: revoked.value, ...left }
  }
  if (!isUnconfirmed(revoked.reason)) throw revoked.reason
  await addToJournal({ sessionId, profile: cli.options.profile, broker: cli.brokerUrl, reason, since: new Date().toISOString() })
  return { outcome: 'queued', ...left }
}
