// Where every session opens. Each path that opens or extends a session (a request, its last
// approval, break-glass, a drill, a renewal) calls sessionGate() at the moment it opens, so a
// rule that must hold everywhere is written once and checked against the state of that moment.
// The gate gathers the facts once (the user and device as they stand, the asset as the inventory
// has it, who holds it, the reviews due, the ticket's verdict) and evaluates the policy once:
// its rules on the standard paths, its break-glass section on the others.
import { evaluate, evaluateBreakGlass } from '../policy/evaluate.js'
import { factsOf } from '../policy/inventory.js'
import type { Decision, DecisionInput, Holder } from '../policy/types.js'
import type { RequestKind, Review } from '../wire/api.js'
import { ApiError } from './api-error.js'
import { requiredReviews } from './breakglass/reviews.js'
import type { Actor, BrokerContext } from './context.js'
import type { Asked } from './decide.js'
import type { AssetRecord, DeviceRecord, UserRecord } from './store/records.js'
import { withTicketVerdict, type TicketVerdict } from './tickets/check.js'
import { identityProblem as identityStanding } from './oidc/freshness.js'
import type { OidcIdentity } from './store/repositories/oidc-identities.js'
import type { WorkloadRecord } from './store/repositories/workloads.js'
import { isWorkloadPrincipal, trustDomainOf } from './spiffe/spiffe-id.js'

export type OpeningPath = 'request' | 'approval' | 'break-glass' | 'drill' | 'renewal'

export interface Opening {
  path: OpeningPath
  /** Which policy admits it: the rules (standard) or the break-glass section. */
  kind: RequestKind
  /** Whose session opens: on an approval the requester's, not the approver's. */
  user: string
  deviceId: string
  asked: Asked
  /** What a connected ticket system said, looked up before the gate (which never waits on the network). Break-glass has none. */
  ticket?: TicketVerdict
  /** The address the request came from (a rule may name it: conditions.source_host). */
  sourceHost?: string
}

/** What an opening is decided on, read once, at the moment it opens. */
export interface OpeningFacts {
  user?: UserRecord
  /** Set when the principal is a workload's (read only then). */
  workload?: WorkloadRecord
  device?: DeviceRecord
  asset?: AssetRecord
  /** The asset's active sessions (less the one being renewed); read only when a rule that could apply makes a scope exclusive. */
  holders: Holder[]
  /** The first of the user's break-glass reviews that must be filed before any new session. */
  dueReview?: Review
  /** Who the user is at their identity provider, when they signed in with one. */
  identity?: OidcIdentity
  /** The moment, ms since the epoch. */
  at: number
}

/**
 * The gate. Throws the refusal for standing, review, and (break-glass, drill) who, where and
 * exclusive holds; returns the policy's decision on the standard paths, allowed or not, for the
 * caller to record and word (a denied request is kept with its reasons).
 */
export async function sessionGate(ctx: BrokerContext, opening: Opening): Promise<Decision> {
  const facts = await gatherFacts(ctx, opening)
  const user = assertStanding(ctx, opening, facts)
  if (isWorkloadPrincipal(opening.user)) assertWorkloadStanding(ctx, opening, facts)
  assertNoReviewDue({ user, deviceId: opening.deviceId }, facts.dueReview, opening.path)
  const input = decisionInput(opening, user, facts)
  if (opening.kind === 'standard') {
    // The ticket's verdict was looked up before the gate (tickets/check.ts); its failures join
    // the policy's reasons, and an unreachable system follows the rule.
    return withTicketVerdict(ctx, evaluate(ctx.policy, input), opening.ticket, opening.asked.ticket)
  }
  const decision = evaluateBreakGlass(ctx.policy, input)
  if (decision.heldBy) {
    const holder = decision.heldBy
    throw new ApiError(403, 'policy-denied', `${opening.kind === 'drill' ? 'The drill' : 'Break-glass'} cannot open a session here now.`, {
      reasons: decision.reasons,
      holder: holder.user,
      until: holder.until,
      nextSteps: [`Call ${holder.user}, or ask security to end their session (jit revoke).`],
    })
  }
  // A renewal keeps what break-glass granted: only another's hold (above) and the hard cap
  // (renewal.ts) limit it.
  if (!decision.allow && opening.path !== 'renewal') throw breakGlassRefusal(decision.reasons)
  return decision
}

/** Everything the checks and the policy look at, each read once, in the opening's transaction. */
async function gatherFacts(ctx: BrokerContext, opening: Opening): Promise<OpeningFacts> {
  const at = ctx.now()
  const { asset: path, renewing } = opening.asked
  const user = await ctx.store.users.get(opening.user)
  const workload = isWorkloadPrincipal(opening.user) ? await ctx.store.workloads.bySpiffeId(opening.user) : undefined
  const device = await ctx.store.devices.get(opening.deviceId)
  const asset = await ctx.store.assets.get(path)
  // Holders matter only to an exclusive scope: most openings never read them.
  const exclusive = ctx.policy.index.candidates(path).some((rule) => rule.exclusive)
  const sessions = exclusive ? await ctx.store.sessions.list({ asset: path, activeOnly: true }, at / 1000) : []
  const holders = sessions.filter((s) => s.id !== renewing).map((s) => ({ user: s.user, scope: s.scope, sessionId: s.id, until: s.expiresAt }))
  const [dueReview] = await requiredReviews(ctx, opening.user)
  // Read even when the policy names no provider now: an identity whose provider was dropped opens nothing.
  const identity = await ctx.store.oidcIdentities.get(opening.user)
  return { user, workload, device, asset, holders, dueReview, identity, at }
}

function decisionInput(opening: Opening, user: UserRecord, facts: OpeningFacts): DecisionInput {
  return {
    user: { name: user.name, roles: user.roles, org: user.org, workload: facts.workload && { name: facts.workload.name, spiffeId: facts.workload.spiffeId, owner: facts.workload.owner } },
    intent: opening.asked.intent,
    sourceHost: opening.sourceHost,
    asset: opening.asked.asset,
    scope: opening.asked.scope,
    ttlSeconds: opening.asked.ttlSeconds,
    ticket: opening.asked.ticket,
    facts: facts.asset && factsOf(facts.asset.path, facts.asset.attributes),
    at: facts.at,
    holders: facts.holders,
  }
}

/** A disabled user, one their identity provider has not vouched for recently, or a revoked device opens nothing, whoever approves. */
function assertStanding(ctx: BrokerContext, opening: Opening, { user, device, identity, at }: OpeningFacts): UserRecord {
  const reasons: string[] = []
  if (!user) reasons.push(`${opening.user} is not a user of this broker`)
  else if (user.disabled) reasons.push(`${opening.user} is disabled`)
  const identityProblem = identityStanding(ctx, identity, at)
  if (identityProblem) reasons.push(identityProblem)
  if (!device || device.user !== opening.user) reasons.push(`device ${opening.deviceId} is not ${opening.user}'s`)
  else if (device.revokedAt) reasons.push(`device ${opening.deviceId} was revoked at ${device.revokedAt}`)
  if (reasons.length > 0 || !user) {
    throw new ApiError(403, 'policy-denied', `No session can open for ${opening.user} on this device.`, { reasons, nextSteps: opening.path === 'approval' ? ['Deny the request; it cannot open a session as things stand.'] : [] })
  }
  return user
}

/** A workload opens nothing once disabled or removed, nor outside this broker's trust domain; nor by break-glass. */
function assertWorkloadStanding(ctx: BrokerContext, opening: Opening, { workload }: OpeningFacts): void {
  const reasons: string[] = []
  if (!workload) reasons.push(`${opening.user} is no longer a registered workload`)
  else if (workload.disabled) reasons.push(`workload ${workload.name} is disabled`)
  if (ctx.trustDomain && trustDomainOf(opening.user) !== ctx.trustDomain) reasons.push(`${opening.user} is not in this broker's trust domain ${ctx.trustDomain}`)
  if (opening.kind !== 'standard') reasons.push('a workload has no break-glass path')
  if (reasons.length === 0) return
  throw new ApiError(403, 'policy-denied', `No session can open for workload ${workload?.name ?? opening.user}.`, { reasons, nextSteps: workload ? [`Its owner (${workload.owner}) or an admin can enable it: jit admin workload enable ${workload.name}`] : [] })
}

/** The refusal of break-glass by its section of the policy (who, where, which scopes, or none at all). */
export function breakGlassRefusal(reasons: string[]): ApiError {
  return new ApiError(403, 'policy-denied', 'Break-glass is not allowed here.', {
    reasons,
    nextSteps: ['Use the normal path (jit request) or call the asset owner; the break-glass section of the policy names who and where.'],
  })
}

/** The review gate: no new session of any kind, from any device, while a review is due. */
function assertNoReviewDue(actor: Actor, due: Review | undefined, path: OpeningPath): void {
  if (!due) return
  const state = due.overdue ? 'overdue' : 'due'
  if (path === 'approval') {
    throw new ApiError(403, 'policy-denied', `${actor.user.name} cannot get a session now.`, {
      reasons: [`a post-event review of ${actor.user.name}'s break-glass session on ${due.asset} is ${state}; no new session until it is filed`],
      reviewId: due.id,
      nextSteps: [`Ask ${actor.user.name} to file review ${due.id}, then approve again.`],
    })
  }
  throw new ApiError(403, 'review-required', `A post-event review of your break-glass session on ${due.asset} is ${state}; no new session until it is filed.`, {
    reviewId: due.id,
    nextSteps: [`File it: jit review ${due.id}   (or unattended: jit review ${due.id} --file review.yaml)`],
  })
}
