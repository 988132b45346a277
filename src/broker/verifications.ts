// What verifiers (gateways, jump hosts) learnt of a session through introspection, kept as an
// aggregate per session and verifier (first and last check, how many, the last answer) rather
// than an audit record per call: a verifier polling a token cannot grow the audit log without
// bound. The audit log gets a `session.verified` record when a verifier first checks a session
// and whenever its answer changes (active → inactive), which is the story an auditor needs.
// Only a verifier's check counts as "verified by an asset" (last_verified_at).
import { nowIso } from '../util/ids.js'
import type { BrokerContext } from './context.js'
import { flag, int, type SessionRecord } from './store/records.js'
import type { Store } from './store/store.js'

/** What recording a check uses of the broker: its store and its clock. */
type StoreAndClock = Pick<BrokerContext, 'store' | 'now'>

export interface VerificationSummary {
  verifier: string
  firstAt: string
  lastAt: string
  checks: number
  lastActive: boolean
}

/** Records one verifier's check of a session; audits it only when it is the first or its answer changed. */
export async function recordVerification(ctx: StoreAndClock, session: SessionRecord, verifier: string, active: boolean, data: Record<string, unknown> = {}): Promise<void> {
  const at = nowIso(ctx.now())
  await ctx.store.transaction(async (tx) => {
    const before = (await tx.query('SELECT last_active FROM session_verifications WHERE session_id = ? AND verifier = ?', [session.id, verifier]))[0]
    await tx.execute(
      'INSERT INTO session_verifications (session_id, verifier, first_at, last_at, checks, last_active) VALUES (?,?,?,?,1,?) ON CONFLICT (session_id, verifier) DO UPDATE SET last_at = excluded.last_at, checks = session_verifications.checks + 1, last_active = excluded.last_active',
      [session.id, verifier, at, at, active ? 1 : 0],
    )
    if (active) await tx.sessions.markVerified(session.id)
    if (before && flag(before.last_active) === active) return
    await tx.appendAudit({
      type: 'session.verified',
      severity: session.kind === 'standard' ? 'info' : 'high',
      actor: `verifier:${verifier}`,
      sessionId: session.id,
      requestId: session.requestId,
      data: { active, state: session.state, ...data },
    })
  })
}

export async function verificationsOf(store: Store, sessionId: string): Promise<VerificationSummary[]> {
  const rows = await store.query('SELECT verifier, first_at, last_at, checks, last_active FROM session_verifications WHERE session_id = ? ORDER BY first_at, verifier', [sessionId])
  return rows.map((row) => ({ verifier: row.verifier as string, firstAt: row.first_at as string, lastAt: row.last_at as string, checks: int(row.checks), lastActive: flag(row.last_active) }))
}
