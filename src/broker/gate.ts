// Where every session opens. Each path that opens or extends a session (a request, its last
// approval, break-glass, a drill, a renewal) calls sessionGate() at the moment it opens, so a
// rule that must hold everywhere is written once and checked against the state of that moment:
// the standing of the user and device, the review gate, the ticket verdict, exclusive scopes and
// (on the standard paths) the policy's rules.
import { assetMatches } from '../policy/evaluate.js'
import type { Decision, Holder } from '../policy/types.js'
import type { RequestKind } from '../wire/api.js'
import { ApiError } from './api-error.js'
import { requiredReviews } from './breakglass/reviews.js'
import type { Actor, BrokerContext } from './context.js'
import { decide, type Asked } from './decide.js'
import { withTicketVerdict, type TicketVerdict } from './tickets/check.js'

export type OpeningPath = 'request' | 'approval' | 'break-glass' | 'drill' | 'renewal'

export interface Opening {
  path: OpeningPath
  /** Which policy admits it: the rules (standard) or the break-glass section (already checked by the caller). */
  kind: RequestKind
  /** Whose session opens: on an approval the requester's, not the approver's. */
  user: string
  deviceId: string
  asked: Asked
  /** What a connected ticket system said, looked up before the gate (which never waits on the network). Break-glass has none. */
  ticket?: TicketVerdict
}

/**
 * The gate. Throws the refusal for standing, review, ticket and (break-glass, drill) exclusive
 * scopes; returns the policy's decision on the standard paths, allowed or not, for the caller
 * to record and word (a denied request is kept with its reasons).
 */
export async function sessionGate(ctx: BrokerContext, opening: Opening): Promise<Decision> {
  const user = await assertStanding(ctx, opening)
  await assertNoReviewDue(ctx, { user, deviceId: opening.deviceId }, opening.path)
  if (opening.kind !== 'standard') {
    // Break-glass skips approvers, never another person's exclusive hold on the asset.
    const holder = await exclusiveHolder(ctx, opening.asked)
    if (holder) {
      const reason = `${opening.asked.scope} on ${opening.asked.asset} is exclusive and held by ${holder.user} until ${holder.until.replace(/\.\d{3}Z$/, 'Z')}`
      throw new ApiError(403, 'policy-denied', `${opening.kind === 'drill' ? 'The drill' : 'Break-glass'} cannot open a session here now.`, {
        reasons: [reason],
        holder: holder.user,
        until: holder.until,
        nextSteps: [`Call ${holder.user}, or ask security to end their session (jit revoke).`],
      })
    }
    return { allow: true, reasons: [], approvalsNeeded: 0, approverRoles: [], cacheAllowed: true }
  }
  // The ticket's verdict was looked up before the gate, which never waits on the network (tickets/check.ts); its
  // failures join the policy's reasons, and an unreachable system follows the rule.
  return withTicketVerdict(ctx, await decide(ctx, user, opening.asked), opening.ticket, opening.asked.ticket)
}

/** A disabled user or a revoked device opens nothing, whoever approves. */
async function assertStanding(ctx: BrokerContext, opening: Opening): Promise<Actor['user']> {
  const user = await ctx.store.users.get(opening.user)
  const device = await ctx.store.devices.get(opening.deviceId)
  const reasons: string[] = []
  if (!user) reasons.push(`${opening.user} is not a user of this broker`)
  else if (user.disabled) reasons.push(`${opening.user} is disabled`)
  if (!device || device.user !== opening.user) reasons.push(`device ${opening.deviceId} is not ${opening.user}'s`)
  else if (device.revokedAt) reasons.push(`device ${opening.deviceId} was revoked at ${device.revokedAt}`)
  if (reasons.length > 0) throw refused(opening, `No session can open for ${opening.user} on this device.`, reasons)
  return user!
}

function refused(opening: Opening, message: string, reasons: string[]): ApiError {
  return new ApiError(403, 'policy-denied', message, { reasons, nextSteps: opening.path === 'approval' ? ['Deny the request; it cannot open a session as things stand.'] : [] })
}

/** Who holds `scope` on `asset` when a rule covering them makes it exclusive (a renewed session does not hold against itself). */
export async function exclusiveHolder(ctx: BrokerContext, asked: Asked): Promise<Holder | undefined> {
  const exclusive = ctx.policy.index.candidates(asked.asset).some((rule) => rule.exclusive && rule.scopes.includes(asked.scope) && assetMatches(rule, asked.asset))
  if (!exclusive) return undefined
  const session = (await ctx.store.sessions.list({ asset: asked.asset, activeOnly: true }, ctx.now() / 1000)).find((s) => s.scope === asked.scope && s.id !== asked.renewing)
  return session && { user: session.user, scope: session.scope, sessionId: session.id, until: session.expiresAt }
}

/** The review gate: no new session of any kind, from any device, while a review is due. */
export async function assertNoReviewDue(ctx: BrokerContext, actor: Actor, path: OpeningPath = 'request'): Promise<void> {
  const [due] = await requiredReviews(ctx, actor.user.name)
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
