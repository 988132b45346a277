// What verifiers (gateways, jump hosts) learnt of a session through introspection, kept as an
// aggregate per session and verifier (first and last check, how many, the last answer) rather
// than an audit record per call: a verifier polling a token cannot grow the audit log without
// bound. The audit log gets a `session.verified` record when a verifier first checks a session
// and whenever its answer changes (active → inactive), which is the story an auditor needs.
// Only a verifier's check counts as "verified by an asset" (last_verified_at).
import { nowIso } from '../util/ids.js'
import type { BrokerContext } from './context.js'
import { sqliteOf } from './store/sqlite-async-store.js'
import type { SessionRecord, SqliteStore } from './store/sqlite-store.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS session_verifications (session_id TEXT NOT NULL, verifier TEXT NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL, checks INTEGER NOT NULL, last_active INTEGER NOT NULL, PRIMARY KEY (session_id, verifier));
`
const ready = new WeakSet<SqliteStore>()

function ensureSchema(store: SqliteStore): void {
  if (ready.has(store)) return
  store.db.exec(SCHEMA)
  ready.add(store)
}

export interface VerificationSummary {
  verifier: string
  firstAt: string
  lastAt: string
  checks: number
  lastActive: boolean
}

/** Records one verifier's check of a session; audits it only when it is the first or its answer changed. */
export async function recordVerification(ctx: BrokerContext, session: SessionRecord, verifier: string, active: boolean, data: Record<string, unknown> = {}): Promise<void> {
  const at = nowIso(ctx.now())
  await ctx.store.transaction(async (tx) => {
    const before = await sqliteOf(tx).run((store) => {
      ensureSchema(store)
      const before = store.statement('SELECT last_active FROM session_verifications WHERE session_id = ? AND verifier = ?').get(session.id, verifier) as { last_active: number } | undefined
      store
        .statement('INSERT INTO session_verifications (session_id, verifier, first_at, last_at, checks, last_active) VALUES (?,?,?,?,1,?) ON CONFLICT(session_id, verifier) DO UPDATE SET last_at = excluded.last_at, checks = checks + 1, last_active = excluded.last_active')
        .run(session.id, verifier, at, at, active ? 1 : 0)
      return before
    })
    if (active) await tx.markVerified(session.id)
    if (before && before.last_active === (active ? 1 : 0)) return
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

export function verificationsOf(store: SqliteStore, sessionId: string): VerificationSummary[] {
  ensureSchema(store)
  const rows = store.statement('SELECT verifier, first_at, last_at, checks, last_active FROM session_verifications WHERE session_id = ? ORDER BY first_at').all(sessionId) as Record<string, unknown>[]
  return rows.map((row) => ({ verifier: row.verifier as string, firstAt: row.first_at as string, lastAt: row.last_at as string, checks: row.checks as number, lastActive: row.last_active === 1 }))
}
