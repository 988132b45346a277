// The plant-state interlock: when an asset's state changes (running, maintenance, stopped,
// offline) so that the policy no longer allows a live session on it, the session ends at once
// (cause `plant-state`), and the revocation stream cuts its gateway connections. Whoever records
// the change (the operator command on the broker's data, another broker) writes an `asset.state`
// audit record; the broker that holds the interlock duty follows those records from the chain
// (their sequence numbers only grow) and asks the one gate (gate.ts) again, for each live session
// on the asset, whether it would open now.
import type { BrokerContext } from './context.js'
import { ApiError } from './api-error.js'
import { sessionGate } from './gate.js'
import { endSessionRecorded } from './sessions.js'
import type { SessionRecord } from './store/records.js'
import { UNCHECKED } from './tickets/check.js'

export const PLANT_STATE_CAUSE = 'plant-state'
const STATE_EVENT = 'asset.state'
const BATCH = 1000

/** Whether the gate would open this session now, on the asset as it stands (the ticket is not asked again: it has its own path). */
async function stillAllowed(ctx: BrokerContext, session: SessionRecord): Promise<{ allow: boolean; reasons: string[] }> {
  const remaining = Math.max(1, Math.ceil(session.expiresAtEpoch - ctx.now() / 1000))
  const asked = { asset: session.asset, scope: session.scope, ttlSeconds: remaining, ticket: session.ticket, renewing: session.id }
  try {
    const decision = await sessionGate(ctx, { path: 'renewal', kind: session.kind, user: session.user, deviceId: session.deviceId, asked, ticket: UNCHECKED })
    return { allow: decision.allow, reasons: decision.reasons }
  } catch (error) {
    // A review falling due is not the asset's state: it blocks new sessions, not this one.
    if (error instanceof ApiError && error.code === 'review-required') return { allow: true, reasons: [] }
    if (error instanceof ApiError) return { allow: false, reasons: [error.message] }
    throw error
  }
}

/** Ends each live session on the asset that the policy no longer allows; their ids. */
export async function enforcePlantState(ctx: BrokerContext, asset: string, state: string): Promise<string[]> {
  const ended: string[] = []
  for (const session of await ctx.store.sessions.list({ asset, activeOnly: true }, ctx.now() / 1000)) {
    const verdict = await stillAllowed(ctx, session)
    if (verdict.allow) continue
    const reason = `asset ${asset} is now ${state}: ${verdict.reasons.join('; ') || 'the policy no longer allows this session'}`
    const done = await ctx.store.transaction(
      () => endSessionRecorded(ctx, session, { state: 'revoked', by: 'broker', reason, severity: 'high', data: { cause: PLANT_STATE_CAUSE, reason, asset, state } }),
      { user: session.user, asset: session.asset },
    )
    if (done) ended.push(session.id)
  }
  return ended
}

/** Follows the `asset.state` records of the audit chain from where it stood when the broker started. */
export class PlantStateInterlock {
  #after?: number

  /** Runs the interlock for the state changes recorded since the last call; the sessions it ended. */
  async follow(ctx: BrokerContext): Promise<string[]> {
    if (this.#after === undefined) {
      const row = (await ctx.store.query('SELECT MAX(seq) AS head FROM audit'))[0]
      this.#after = row?.head === null || row?.head === undefined ? 0 : Number(row.head)
      return []
    }
    // Up to the head as it stands now: the records between are committed (the chain appends in order).
    const head = Number((await ctx.store.query('SELECT MAX(seq) AS head FROM audit'))[0]?.head ?? 0)
    const rows = await ctx.store.query('SELECT seq, data FROM audit WHERE seq > ? AND seq <= ? AND type = ? ORDER BY seq LIMIT ?', [this.#after, head, STATE_EVENT, BATCH])
    const ended: string[] = []
    for (const row of rows) {
      const { asset, state } = JSON.parse(row.data as string) as { asset?: unknown; state?: unknown }
      if (typeof asset === 'string' && typeof state === 'string') ended.push(...(await enforcePlantState(ctx, asset, state)))
      this.#after = Number(row.seq)
    }
    if (rows.length < BATCH) this.#after = head
    if (ended.length > 0) ctx.notifier.kick()
    return ended
  }
}
