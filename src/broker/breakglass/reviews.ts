// Post-event reviews: which are due (the gate in ../gate.ts refuses new sessions while one is),
// filing by the session's owner, sign-off by security (never one's own), and flagging overdue reviews.
import { ApiError, forbidden, notFound } from '../api-error.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from '../context.js'
import type { ReviewRecord } from './review-store.js'
import { nowIso } from '../../util/ids.js'
import type { Review, ReviewAnswers } from '../../wire/api.js'

export const SIGN_OFF_ROLE = 'security'

export function toReview(record: ReviewRecord, nowEpoch: number): Review {
  const state = record.signedOffAt ? 'signed-off' : record.filedAt ? 'filed' : record.sessionEnded ? 'due' : 'awaiting-end'
  return {
    id: record.id,
    sessionId: record.sessionId,
    user: record.user,
    asset: record.asset,
    kind: record.kind,
    state,
    dueAt: new Date(record.dueAtEpoch * 1000).toISOString(),
    overdue: !record.filedAt && nowEpoch > record.dueAtEpoch,
    answers: record.answers ? (JSON.parse(record.answers) as ReviewAnswers) : undefined,
    filedAt: record.filedAt,
    signedOffBy: record.signedOffBy,
    signedOffAt: record.signedOffAt,
    signOffComment: record.signOffComment,
  }
}

/** Reviews the user must file before anything else: their break-glass sessions that have ended. */
export async function requiredReviews(ctx: BrokerContext, user: string): Promise<Review[]> {
  const now = ctx.now() / 1000
  return (await ctx.reviews.list({ user, unfiledOnly: true }, now)).filter((r) => r.sessionEnded).map((r) => toReview(r, now))
}

export async function listReviews(ctx: BrokerContext, actor: Actor, filter: { pending?: boolean; overdue?: boolean }): Promise<Review[]> {
  const now = ctx.now() / 1000
  const all = hasAnyRole(actor.user, [...OVERSIGHT_ROLES, SIGN_OFF_ROLE])
  const records = await ctx.reviews.list({ user: all ? undefined : actor.user.name, filedNotSignedOff: filter.pending, unfiledOnly: filter.overdue }, now)
  return records.map((r) => toReview(r, now)).filter((r) => !filter.overdue || r.overdue)
}

async function reviewFor(ctx: BrokerContext, actor: Actor, id: string): Promise<ReviewRecord> {
  const record = await ctx.reviews.get(id, ctx.now() / 1000)
  if (!record || (record.user !== actor.user.name && !hasAnyRole(actor.user, [...OVERSIGHT_ROLES, SIGN_OFF_ROLE]))) throw notFound(`Review ${id}`)
  return record
}

export async function fileReview(ctx: BrokerContext, actor: Actor, id: string, given: ReviewAnswers): Promise<Review> {
  const { followUpTicket, ...rest } = given
  const answers: ReviewAnswers = followUpTicket?.trim() ? { ...rest, followUpTicket: followUpTicket.trim() } : rest
  const record = await reviewFor(ctx, actor, id)
  if (record.user !== actor.user.name) throw forbidden('Only the person who used break-glass files its review.')
  if (record.filedAt) throw new ApiError(409, 'bad-input', `Review ${id} was already filed.`)
  if (!record.sessionEnded) throw new ApiError(409, 'bad-input', `The session of review ${id} is still open; end it first (jit revoke ${record.sessionId}).`)
  await ctx.store.transaction(async (tx) => {
    await ctx.reviews.file(id, JSON.stringify(answers), nowIso(ctx.now()))
    await tx.appendAudit({ type: 'review.filed', severity: 'high', actor: actor.user.name, sessionId: record.sessionId, data: { reviewId: id, rollbackNeeded: answers.rollbackNeeded, followUpTicket: answers.followUpTicket ?? null, drill: record.kind === 'drill' } })
  })
  return toReview((await ctx.reviews.get(id, ctx.now() / 1000))!, ctx.now() / 1000)
}

export async function signOffReview(ctx: BrokerContext, actor: Actor, id: string, comment: string | undefined): Promise<Review> {
  // The role first: someone without it learns that (and, for their own review, that too),
  // never whether someone else's review exists.
  if (!actor.user.roles.includes(SIGN_OFF_ROLE)) {
    const own = (await ctx.reviews.get(id, ctx.now() / 1000))?.user === actor.user.name
    throw forbidden(`You cannot sign off review ${id}.`, [`sign-off needs the ${SIGN_OFF_ROLE} role; you have ${actor.user.roles.join(', ') || 'no role'}`, ...(own ? ['nobody signs off their own review'] : [])])
  }
  const record = await reviewFor(ctx, actor, id)
  const reasons: string[] = []
  if (record.user === actor.user.name) reasons.push('nobody signs off their own review')
  if (reasons.length > 0) throw forbidden(`You cannot sign off review ${id}.`, reasons)
  if (!record.filedAt) throw new ApiError(409, 'bad-input', `Review ${id} has not been filed yet.`)
  if (record.signedOffAt) throw new ApiError(409, 'bad-input', `Review ${id} was already signed off by ${record.signedOffBy}.`)
  await ctx.store.transaction(async (tx) => {
    await ctx.reviews.signOff(id, actor.user.name, comment, nowIso(ctx.now()))
    await tx.appendAudit({ type: 'review.signed-off', severity: 'high', actor: actor.user.name, sessionId: record.sessionId, data: { reviewId: id, user: record.user, comment: comment ?? null } })
  })
  return toReview((await ctx.reviews.get(id, ctx.now() / 1000))!, ctx.now() / 1000)
}

/** Flags reviews that passed their due time, once each, in the audit log and to the notify list. */
export async function flagOverdueReviews(ctx: BrokerContext): Promise<number> {
  const now = ctx.now() / 1000
  const overdue = await ctx.reviews.newlyOverdue(now)
  if (overdue.length === 0) return 0
  let flagged = 0
  await ctx.store.transaction(async (tx) => {
    for (const review of overdue) {
      if (!(await ctx.reviews.flagOverdue(review.id))) continue
      flagged++
      await tx.appendAudit({ type: 'review.overdue', severity: 'high', actor: 'broker', sessionId: review.sessionId, data: { reviewId: review.id, user: review.user, dueAt: new Date(review.dueAtEpoch * 1000).toISOString() } })
      await ctx.notifier.enqueue({ event: 'review.overdue', drill: review.kind === 'drill', user: review.user, asset: review.asset, sessionId: review.sessionId, reviewId: review.id, notify: ctx.policy.breakGlass?.notify ?? [], at: nowIso(ctx.now()) })
    }
  })
  ctx.notifier.kick()
  return flagged
}
