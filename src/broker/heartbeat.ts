// The dead-man's switch of wrapped sessions (jit exec, jit shell). The wrapping CLI arms it with a
// first heartbeat before it starts the command and keeps feeding it; when the heartbeats stop (the
// CLI was SIGKILLed, the laptop lost power or the network), the broker revokes the session after
// the grace period and says why. Silence is counted only from this broker's own start, so a broker
// that was down (and could not hear anyone) never revokes live sessions for that when it returns.
import type { HeartbeatResult } from '../wire/api.js'
import { forbidden } from './api-error.js'
import type { Actor, BrokerContext, HeartbeatSettings } from './context.js'
import { endSessionRecorded, getSessionFor } from './sessions.js'

export const DEFAULT_HEARTBEAT_GRACE_SECONDS = 60

export function heartbeatSettings(ctx: BrokerContext): HeartbeatSettings {
  return ctx.heartbeat ?? { graceSeconds: DEFAULT_HEARTBEAT_GRACE_SECONDS, startedAtMs: 0 }
}

/** Three beats per grace period: one lost packet never ends a session. */
export const heartbeatInterval = (graceSeconds: number) => Math.max(0.5, graceSeconds / 3)

export function recordHeartbeat(ctx: BrokerContext, actor: Actor, id: string): HeartbeatResult {
  const session = getSessionFor(ctx, actor, id)
  // Only the device holding the credential can vouch that it is still in use.
  if (session.deviceId !== actor.deviceId) throw forbidden('Only the device that holds the session can send its heartbeat.')
  const { graceSeconds } = heartbeatSettings(ctx)
  const nowMs = ctx.now()
  const alive = session.state === 'active' && ctx.store.recordHeartbeat(id, nowMs)
  return {
    sessionId: id,
    state: alive ? 'active' : session.state === 'active' ? 'expired' : session.state,
    endReason: alive ? undefined : session.endReason,
    expiresIn: alive ? Math.max(0, session.expiresAtEpoch - nowMs / 1000) : 0,
    graceSeconds,
    intervalSeconds: heartbeatInterval(graceSeconds),
  }
}

/** Revokes every armed session that has been silent for longer than the grace period. Run by the sweeper. */
export function reapSilentSessions(ctx: BrokerContext): string[] {
  const { graceSeconds, startedAtMs } = heartbeatSettings(ctx)
  const nowMs = ctx.now()
  // Before start + grace, nobody can have been silent for a whole grace period under this broker.
  if (nowMs - startedAtMs <= graceSeconds * 1000) return []
  const ids = ctx.store.silentSessions(nowMs - graceSeconds * 1000)
  if (ids.length === 0) return []
  const reaped: string[] = []
  ctx.store.transaction(() => {
    for (const id of ids) {
      const session = ctx.store.getSession(id, nowMs / 1000)!
      const lastMs = Math.max(session.heartbeatAtMs ?? 0, startedAtMs)
      const silentSeconds = Math.round((nowMs - lastMs) / 1000)
      const reason = `heartbeat lost: no heartbeat from device ${session.deviceId} for ${silentSeconds}s (grace ${graceSeconds}s)`
      const ended = endSessionRecorded(ctx, session, {
        state: 'revoked',
        by: 'broker',
        reason,
        severity: 'high',
        data: {
          reason,
          cause: 'heartbeat-lost',
          lastHeartbeatAt: session.heartbeatAtMs === undefined ? null : new Date(session.heartbeatAtMs).toISOString(),
          graceSeconds,
          deviceId: session.deviceId,
        },
      })
      if (ended) reaped.push(id)
    }
  })
  ctx.notifier.kick()
  return reaped
}
