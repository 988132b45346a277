// The dead-man's switch of wrapped sessions (jit exec, jit shell). The wrapping CLI arms it with a
// first heartbeat before it starts the command and keeps feeding it; when the heartbeats stop (the
// CLI was SIGKILLed, the laptop lost power or the network), the broker revokes the session after
// the grace period and says why.
//
// Silence is measured on a monotonic clock, from heartbeats this broker process heard itself, so a
// wall clock that is stepped (NTP, an operator) moves nothing. And it is counted only while the
// broker could listen: from its own start (a broker that was down never revokes live sessions for
// that when it returns), and anew after a stall of its own (a paused VM, SIGSTOP, a blocked event
// loop): the first sweep after a stall runs before the heartbeats that queued up meanwhile are
// read, so every armed session gets a full grace from the end of the stall.
import type { HeartbeatResult } from '../wire/api.js'
import { nowMs as monotonicNowMs } from '../util/clock.js'
import { forbidden } from './api-error.js'
import type { Actor, BrokerContext, HeartbeatSettings } from './context.js'
import { endSessionRecorded, getSessionFor } from './sessions.js'

export const DEFAULT_HEARTBEAT_GRACE_SECONDS = 60

export function heartbeatSettings(ctx: BrokerContext): HeartbeatSettings {
  ctx.heartbeat ??= { graceSeconds: DEFAULT_HEARTBEAT_GRACE_SECONDS, monotonicMs: monotonicNowMs }
  return ctx.heartbeat
}

interface Watch {
  /** Monotonic ms since when the broker has been listening without a stall. */
  listeningSinceMs: number
  /** Monotonic ms of the previous sweep, to notice a stall between two sweeps. */
  lastSweepMs?: number
  /** Session id → monotonic ms of the last heartbeat this process heard. */
  lastBeatMs: Map<string, number>
}

const watches = new WeakMap<HeartbeatSettings, Watch>()

function watchOf(settings: HeartbeatSettings): Watch {
  let watch = watches.get(settings)
  if (!watch) {
    watch = { listeningSinceMs: settings.monotonicMs(), lastBeatMs: new Map() }
    watches.set(settings, watch)
  }
  return watch
}

/** Starts counting: silence before this moment (the broker's start) is never held against anyone. */
export function startHeartbeatWatch(ctx: BrokerContext): void {
  watchOf(heartbeatSettings(ctx))
}

/**
 * A gap between sweeps this much longer than usual is a stall of the broker: a live session beats
 * three times per grace, so a stall shorter than a third of it cannot make one look silent for a
 * whole grace, and anything longer might.
 */
const stallMs = (graceSeconds: number, sweepIntervalMs: number) => sweepIntervalMs + (graceSeconds * 1000) / 3

/** Three beats per grace period: one lost packet never ends a session. */
export const heartbeatInterval = (graceSeconds: number) => Math.max(0.5, graceSeconds / 3)

export async function recordHeartbeat(ctx: BrokerContext, actor: Actor, id: string): Promise<HeartbeatResult> {
  const session = await getSessionFor(ctx, actor, id)
  // Only the device holding the credential can vouch that it is still in use.
  if (session.deviceId !== actor.deviceId) throw forbidden('Only the device that holds the session can send its heartbeat.')
  const { graceSeconds } = heartbeatSettings(ctx)
  const nowMs = ctx.now()
  const alive = session.state === 'active' && (await ctx.store.recordHeartbeat(id, nowMs))
  if (alive) watchOf(heartbeatSettings(ctx)).lastBeatMs.set(id, heartbeatSettings(ctx).monotonicMs())
  return {
    sessionId: id,
    state: alive ? 'active' : session.state === 'active' ? 'expired' : session.state,
    endReason: alive ? undefined : session.endReason,
    expiresIn: alive ? Math.max(0, session.expiresAtEpoch - nowMs / 1000) : 0,
    graceSeconds,
    intervalSeconds: heartbeatInterval(graceSeconds),
  }
}

/**
 * Revokes every armed session this broker has not heard from for longer than the grace period,
 * counted on the monotonic clock while the broker was listening. Run by the sweeper, every
 * sweepIntervalMs.
 */
export async function reapSilentSessions(ctx: BrokerContext, log: (line: string) => void = () => {}, sweepIntervalMs = 1000): Promise<string[]> {
  const settings = heartbeatSettings(ctx)
  const { graceSeconds } = settings
  const watch = watchOf(settings)
  const monoNow = settings.monotonicMs()
  if (watch.lastSweepMs !== undefined && monoNow - watch.lastSweepMs > stallMs(graceSeconds, sweepIntervalMs)) {
    log(`the broker itself stalled for ${Math.round((monoNow - watch.lastSweepMs) / 1000)}s: every wrapped session gets a full heartbeat grace (${graceSeconds}s) from now`)
    watch.listeningSinceMs = monoNow
  }
  watch.lastSweepMs = monoNow
  const graceMs = graceSeconds * 1000
  // Nobody can have been silent for a whole grace while this broker listened.
  if (monoNow - watch.listeningSinceMs <= graceMs) return []
  const armed = await ctx.store.silentSessions(Number.MAX_SAFE_INTEGER)
  const stillArmed = new Set(armed)
  for (const id of watch.lastBeatMs.keys()) if (!stillArmed.has(id)) watch.lastBeatMs.delete(id)
  const silentMs = (id: string) => monoNow - Math.max(watch.lastBeatMs.get(id) ?? -Infinity, watch.listeningSinceMs)
  const ids = armed.filter((id) => silentMs(id) > graceMs)
  if (ids.length === 0) return []
  const wallNowMs = ctx.now()
  const reaped: string[] = []
  await ctx.store.transaction(async (tx) => {
    for (const id of ids) {
      const session = (await tx.getSession(id, wallNowMs / 1000))!
      const silentSeconds = Math.round(silentMs(id) / 1000)
      const reason = `heartbeat lost: no heartbeat from device ${session.deviceId} for ${silentSeconds}s (grace ${graceSeconds}s)`
      const ended = await endSessionRecorded(ctx, session, {
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
      watch.lastBeatMs.delete(id)
    }
  })
  ctx.notifier.kick()
  return reaped
}
