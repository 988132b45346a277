// The dead-man's switch of wrapped sessions (jit exec, jit shell). The wrapping CLI arms it with a
// first heartbeat before it starts the command and keeps feeding it; when the heartbeats stop (the
// CLI was SIGKILLed, the laptop lost power or the network), the broker revokes the session after
// the grace period and says why.
//
// Silence is measured on this broker's monotonic clock, so a wall clock that is stepped (NTP, an
// operator) moves nothing, and clocks of different brokers are never compared. A beat counts when
// this broker hears it itself or, with several brokers on one database, when its sweep sees the
// session's heartbeat_at change (another broker heard it; the value is only compared for change,
// never read as a time): dated at that sweep, one sweep interval late at most. Every broker watches
// so; only the holder of the 'heartbeat-reaper' duty revokes, and one that takes the duty over has
// been watching since its own start. Silence is counted only while the broker could listen: from
// its own start (a broker that was down never revokes live sessions for that when it returns), and
// anew after a stall of its own (a paused VM, SIGSTOP, a blocked event loop): the first sweep after
// a stall runs before the heartbeats that queued up meanwhile are read, so every armed session gets
// a full grace from the end of the stall.
import type { HeartbeatResult } from '../wire/api.js'
import { nowMs as monotonicNowMs } from '../util/clock.js'
import { forbidden } from './api-error.js'
import type { Actor, BrokerContext, HeartbeatSettings } from './context.js'
import { endSessionRecorded, getSessionFor } from './sessions.js'
import { int } from './store/records.js'

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
  /** Session id → monotonic ms of the last heartbeat this process heard (or saw in the table). */
  lastBeatMs: Map<string, number>
  /** Session id → the heartbeat_at last written or seen here, to notice a beat another broker heard. */
  seenAt: Map<string, number>
  /** Whether a sweep has looked at the table yet: a beat seen at the first look is dated at the start of listening. */
  looked: boolean
}

const watches = new WeakMap<HeartbeatSettings, Watch>()

function watchOf(settings: HeartbeatSettings): Watch {
  let watch = watches.get(settings)
  if (!watch) {
    watch = { listeningSinceMs: settings.monotonicMs(), lastBeatMs: new Map(), seenAt: new Map(), looked: false }
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
  const alive = session.state === 'active' && (await ctx.store.sessions.recordHeartbeat(id, nowMs))
  if (alive) {
    const watch = watchOf(heartbeatSettings(ctx))
    watch.lastBeatMs.set(id, heartbeatSettings(ctx).monotonicMs())
    watch.seenAt.set(id, nowMs)
  }
  return {
    sessionId: id,
    state: alive ? 'active' : session.state === 'active' ? 'expired' : session.state,
    endReason: alive ? undefined : session.endReason,
    endedBy: alive ? undefined : session.endedBy,
    expiresIn: alive ? Math.max(0, session.expiresAtEpoch - nowMs / 1000) : 0,
    graceSeconds,
    intervalSeconds: heartbeatInterval(graceSeconds),
  }
}

/**
 * Notes the beats other brokers heard since the last look: an armed session whose heartbeat_at is
 * new or changed was heard now (at the first look, at the start of listening: when is unknown).
 * Answers with the armed sessions and the heartbeat_at each had.
 */
async function lookAtBeats(ctx: BrokerContext, watch: Watch, monoNow: number): Promise<Map<string, number>> {
  const armed = new Map<string, number>()
  for (const row of await ctx.store.query("SELECT id, heartbeat_at FROM sessions WHERE state = 'active' AND heartbeat_at IS NOT NULL")) armed.set(row.id as string, int(row.heartbeat_at))
  const heardAt = watch.looked ? monoNow : watch.listeningSinceMs
  for (const [id, at] of armed) {
    if (watch.seenAt.get(id) === at) continue
    watch.seenAt.set(id, at)
    watch.lastBeatMs.set(id, Math.max(watch.lastBeatMs.get(id) ?? -Infinity, heardAt))
  }
  watch.looked = true
  for (const id of watch.seenAt.keys()) if (!armed.has(id)) watch.seenAt.delete(id)
  for (const id of watch.lastBeatMs.keys()) if (!armed.has(id)) watch.lastBeatMs.delete(id)
  return armed
}

/**
 * Revokes every armed session not heard from for longer than the grace period, counted on the
 * monotonic clock while the broker was listening. Run by the sweeper of every broker, every
 * sweepIntervalMs; only the holder of the 'heartbeat-reaper' duty revokes.
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
  const armed = await lookAtBeats(ctx, watch, monoNow)
  // Nobody can have been silent for a whole grace while this broker listened.
  if (monoNow - watch.listeningSinceMs <= graceMs) return []
  const silentMs = (id: string) => monoNow - Math.max(watch.lastBeatMs.get(id) ?? -Infinity, watch.listeningSinceMs)
  const ids = [...armed.keys()].filter((id) => silentMs(id) > graceMs)
  if (ids.length === 0 || !(await ctx.store.holdsDuty('heartbeat-reaper'))) return []
  const wallNowMs = ctx.now()
  const reaped: string[] = []
  await ctx.store.transaction(async (tx) => {
    for (const id of ids) {
      const session = (await tx.sessions.get(id, wallNowMs / 1000))!
      // A beat heard since the look (here or by another broker): not silent.
      if (session.heartbeatAtMs !== armed.get(id)) continue
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
