// Feeds the broker's dead-man's switch while a wrapped command runs. The first beat arms the
// switch and must succeed before the command starts; later beats that fail are retried at the next
// interval, because a broker back within the grace period should find the session still alive.
import type { BrokerClient } from '../broker-client/broker-client.js'
import { NotApprovedError } from '../../errors.js'
import type { HeartbeatResult } from '../../wire/api.js'

export interface HeartbeatLoop {
  stop(): void
  /** Beats at once (something suggests the session has ended), then on the usual interval again. */
  beatNow(): void
}

export interface HeartbeatHooks {
  /** The broker says the session has ended (revoked elsewhere, expired, or reaped). Called once. */
  onEnded?(result: HeartbeatResult): void
}

export async function startHeartbeat(client: BrokerClient, sessionId: string, hooks: HeartbeatHooks = {}): Promise<HeartbeatLoop> {
  const path = `/sessions/${encodeURIComponent(sessionId)}/heartbeat`
  const first = await client.post<HeartbeatResult>(path)
  if (first.state !== 'active') throw new NotApprovedError(`Session ${sessionId} ended before the command could start (${first.endReason ?? first.state}).`)
  let intervalMs = Math.round(first.intervalSeconds * 1000)
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let beating = false
  let again = false
  const beat = async () => {
    if (stopped) return
    // Asked while a beat is on its way: that one may have left before the end, so beat again after it.
    if (beating) return void (again = true)
    beating = true
    clearTimeout(timer)
    try {
      const result = await client.post<HeartbeatResult>(path, undefined, AbortSignal.timeout(intervalMs))
      intervalMs = Math.round(result.intervalSeconds * 1000)
      if (result.state !== 'active' && !stopped) {
        stopped = true
        hooks.onEnded?.(result)
        return
      }
    } catch {
      // Unreachable or slow broker: try again at the next beat; the grace period covers a few misses.
    } finally {
      beating = false
    }
    if (again) {
      again = false
      return beat()
    }
    schedule()
  }
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(beat, intervalMs)
    // The command's own process handle keeps jit alive; the heartbeat never should.
    timer.unref()
  }
  schedule()
  return {
    stop() {
      stopped = true
      clearTimeout(timer)
    },
    beatNow() {
      void beat()
    },
  }
}
