// The broker's side of a policy decision: gathers the facts (the requester, the asset as the
// inventory has it now, the time, who holds the asset) and words the decision for the audit log
// and for a refusal.
import { evaluate } from '../policy/evaluate.js'
import { factsOf } from '../policy/inventory.js'
import type { Decision, Holder } from '../policy/types.js'
import { ApiError } from './api-error.js'
import type { BrokerContext } from './context.js'
import type { UserRecord } from './store/records.js'

export interface Asked {
  asset: string
  scope: string
  ttlSeconds: number
  ticket: string
  /** A session being renewed does not block itself on an exclusive scope. */
  renewing?: string
}

export async function decide(ctx: BrokerContext, user: UserRecord, asked: Asked): Promise<Decision> {
  const at = ctx.now()
  const record = await ctx.store.assets.get(asked.asset)
  // The policy is evaluated synchronously: who holds the asset is read first, and only when a
  // rule that could apply makes a scope exclusive (the only rules that ask).
  const exclusive = ctx.policy.index.candidates(asked.asset).some((rule) => rule.exclusive)
  const holders = exclusive ? (await holdersOf(ctx, asked.asset, at)).filter((holder) => holder.sessionId !== asked.renewing) : []
  return evaluate(ctx.policy, {
    user: { name: user.name, roles: user.roles, org: user.org },
    asset: asked.asset,
    scope: asked.scope,
    ttlSeconds: asked.ttlSeconds,
    ticket: asked.ticket,
    facts: record && factsOf(record.path, record.attributes),
    at,
    holders,
  })
}

async function holdersOf(ctx: BrokerContext, asset: string, atMs: number): Promise<Holder[]> {
  return (await ctx.store.sessions.list({ asset, activeOnly: true }, atMs / 1000)).map((s) => ({ user: s.user, scope: s.scope, sessionId: s.id, until: s.expiresAt }))
}

/** The audit record's data: the matched rule, every reason, and which policy decided. */
export function decisionRecord(ctx: BrokerContext, decision: Decision, stage: 'request' | 'approval'): Record<string, unknown> {
  return {
    allow: decision.allow,
    rule: decision.rule ?? null,
    reasons: decision.reasons,
    approvalsNeeded: decision.approvalsNeeded,
    approverRoles: decision.approverRoles,
    stage,
    policy: ctx.policy.digest.slice(0, 16),
    ...(decision.notes ? { notes: decision.notes } : {}),
    ...(decision.heldBy ? { heldBy: decision.heldBy.user, heldUntil: decision.heldBy.until, heldSession: decision.heldBy.sessionId ?? null } : {}),
  }
}

export function policyDenied(message: string, decision: Decision, requestId: string): ApiError {
  const holder = decision.heldBy
  return new ApiError(403, 'policy-denied', message, {
    reasons: decision.reasons,
    requestId,
    ...(holder ? { holder: holder.user, until: holder.until } : {}),
    nextSteps: holder
      ? [`Wait until ${holder.until}, or ask ${holder.user} to end their session (jit revoke).`]
      : ['Ask for a scope, asset or TTL the policy allows, or ask the policy owner: jit policy explain shows which rule applies.'],
  })
}
