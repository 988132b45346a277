// What the end of a break-glass or drill session sets off: the review becomes due, and the
// people the policy names hear of it. Called inside the transaction that ends the session.
import type { BrokerContext } from '../context.js'
import type { SessionRecord } from '../store/records.js'

export async function onSessionEnded(ctx: BrokerContext, session: SessionRecord, by: string, why: string): Promise<void> {
  if (session.kind === 'standard') return
  const nowEpoch = Math.floor(ctx.now() / 1000)
  const found = await ctx.reviews.bySession(session.id, nowEpoch)
  if (!found) return
  // Set at opening from the session's expiry; a session that ends early makes it due sooner.
  if (ctx.policy.breakGlass) await ctx.reviews.dueBy(found.id, nowEpoch + ctx.policy.breakGlass.reviewDueSeconds)
  const review = (await ctx.reviews.get(found.id, nowEpoch))!
  await ctx.store.appendAudit({ type: 'review.due', severity: 'high', actor: 'broker', sessionId: session.id, requestId: session.requestId, data: { reviewId: review.id, user: session.user, dueAt: new Date(review.dueAtEpoch * 1000).toISOString(), drill: session.kind === 'drill' } })
  await ctx.notifier.enqueue({
    event: 'break-glass.ended',
    drill: session.kind === 'drill',
    user: session.user,
    asset: session.asset,
    sessionId: session.id,
    ended: { by, why },
    reviewId: review.id,
    notify: ctx.policy.breakGlass?.notify ?? [],
    at: new Date(ctx.now()).toISOString(),
  })
}
