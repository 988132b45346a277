// The broker's side of a policy decision: what was asked, and the decision worded for the audit
// log and for a refusal. The facts are gathered and the policy evaluated in the gate (gate.ts).
import type { Decision } from '../policy/types.js'
import { ApiError } from './api-error.js'
import type { BrokerContext } from './context.js'

export interface Asked {
  asset: string
  scope: string
  ttlSeconds: number
  ticket: string
  /** A workload job's declared intent. */
  intent?: string
  /** A session being renewed does not block itself on an exclusive scope. */
  renewing?: string
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
