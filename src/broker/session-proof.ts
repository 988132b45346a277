// The proof that a session ended: its record, its whole audit story (issued, each verification by
// an asset, renewals, how it ended) and a live check of its credential made just now through
// the same checks introspection makes for verifiers, without counting as a verification. The credential is re-derived (signatures are deterministic),
// never stored, and never leaves the broker here.
import type { SessionProof } from '../wire/api.js'
import type { Actor, BrokerContext } from './context.js'
import { overseenSession } from './session-oversight.js'
import { checkCredential, credentialFor } from './sessions.js'
import { publicSession } from './store/records.js'
import { TargetJournal } from './targets/journal.js'

export async function sessionProof(ctx: BrokerContext, actor: Actor, id: string): Promise<SessionProof> {
  const { session } = await overseenSession(ctx, actor, id)
  // The owner's own check: neither a use by an asset (last verified) nor an audit record.
  const live = await checkCredential(ctx, await credentialFor(ctx, session))
  const now = new Date(ctx.now()).toISOString()
  const account = await new TargetJournal(ctx.store).get(id)
  return {
    session: { ...publicSession(session), lastVerifiedAt: session.lastVerifiedAt },
    events: await ctx.store.auditLog.events({ sessionId: id }),
    liveCheck: { active: live.active, checkedAt: now },
    ...(account ? { targets: [{ target: account.target, account: account.account, state: account.state, attempts: account.attempts, ...(account.lastError ? { lastError: account.lastError } : {}) }] } : {}),
    now,
  }
}
