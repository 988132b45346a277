// Where every session opens. Each path that opens or extends a session (a request, its last
// approval, break-glass, a drill, a renewal) calls the checks here at the moment it opens, so a
// rule that must hold everywhere is written once.
import { ApiError } from './api-error.js'
import { requiredReviews } from './breakglass/reviews.js'
import type { Actor, BrokerContext } from './context.js'

/** The gate: no new session of any kind, from any device, while a review is due. */
export function assertNoReviewDue(ctx: BrokerContext, actor: Actor): void {
  const [due] = requiredReviews(ctx, actor.user.name)
  if (!due) return
  throw new ApiError(403, 'review-required', `A post-event review of your break-glass session on ${due.asset} is ${due.overdue ? 'overdue' : 'due'}; no new session until it is filed.`, {
    reviewId: due.id,
    nextSteps: [`File it: jit review ${due.id}   (or unattended: jit review ${due.id} --file review.yaml)`],
  })
}
