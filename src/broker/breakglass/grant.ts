// Opening break-glass access: no approver, but only who and where the policy's break-glass
// section allows, for at most its hard TTL cap, with a review created and notifications queued
// in the same transaction, every event tagged high severity.
import { ApiError, badInput } from '../api-error.js'
import type { Actor, BrokerContext } from '../context.js'
import { MIN_TTL_SECONDS } from '../../wire/limits.js'
import { openSession, grantFor } from '../sessions.js'
import { isAssetPath } from '../../policy/asset-pattern.js'
import { ticketSystem } from '../../policy/evaluate.js'
import { formatDuration } from '../../util/ttl.js'
import { newId, nowIso } from '../../util/ids.js'
import type { AccessRequest, BreakGlassBody, BreakGlassResult } from '../../wire/api.js'
import { breakGlassRefusal, sessionGate } from '../gate.js'
import type { Store } from '../store/store.js'
import { toReview } from './reviews.js'

export async function openBreakGlass(ctx: BrokerContext, actor: Actor, body: BreakGlassBody): Promise<BreakGlassResult> {
  const kind = body.drill ? 'drill' : 'break-glass'
  if (!isAssetPath(body.asset)) throw badInput(`"${body.asset}" is not an asset path (like site/area/line/cell/asset).`)
  if (!(await ctx.store.assets.get(body.asset))) throw badInput(`Asset ${body.asset} is not in the inventory.`)
  if (body.incident !== undefined && !ticketSystem(ctx.policy, body.incident)) throw badInput(`Incident "${body.incident}" is not a ticket id this broker knows.`)
  if (body.ttlSeconds !== undefined && (!Number.isInteger(body.ttlSeconds) || body.ttlSeconds < MIN_TTL_SECONDS)) {
    throw badInput(`TTL must be at least ${formatDuration(MIN_TTL_SECONDS)}.`)
  }
  const policy = ctx.policy.breakGlass
  if (!policy) throw breakGlassRefusal(['this broker\'s policy has no break-glass section'])
  const scope = body.scope ?? policy.scopes[0]
  const asked = body.ttlSeconds ?? policy.maxTtlSeconds
  const ttlSeconds = Math.min(asked, policy.maxTtlSeconds)
  const request: AccessRequest = {
    id: newId('req'),
    user: actor.user.name,
    deviceId: actor.deviceId,
    ticket: body.incident ?? 'none',
    asset: body.asset,
    scope,
    ttlSeconds,
    reason: body.reason,
    kind,
    state: 'approved',
    createdAt: nowIso(ctx.now()),
    decidedAt: nowIso(ctx.now()),
    decidedBy: kind,
    reasons: [],
    approvalsNeeded: 0,
    approverRoles: [],
    approvals: [],
  }
  /** Opens the session, its review and its notifications; inside the checking transaction. */
  const open = async (tx: Store) => {
    await tx.appendAudit({
      type: `${kind}.opened`,
      severity: 'high',
      actor: actor.user.name,
      requestId: request.id,
      data: { asset: body.asset, scope, ttlSeconds, reason: body.reason, incident: body.incident ?? null, cappedFrom: asked > ttlSeconds ? asked : null, deviceId: actor.deviceId },
    })
    const session = await openSession(ctx, request, true)
    await tx.requests.save(request)
    const reviewId = newId('rev')
    await ctx.reviews.insert({ id: reviewId, sessionId: session.id, user: actor.user.name, asset: body.asset, kind, dueAtEpoch: session.expiresAtEpoch + policy.reviewDueSeconds })
    const notifications = await ctx.notifier.enqueue({
      event: 'break-glass.opened',
      drill: kind === 'drill',
      user: actor.user.name,
      asset: body.asset,
      sessionId: session.id,
      reason: body.reason,
      incident: body.incident,
      expiresAt: session.expiresAt,
      reviewId,
      notify: policy.notify,
      at: nowIso(ctx.now()),
    })
    return { session, review: (await ctx.reviews.get(reviewId, ctx.now() / 1000))!, notifications }
  }
  // The checks (standing, the review gate, who and where, exclusive holds: the gate's) and the
  // opening run in one transaction, so what they saw still holds when the session is written; a
  // refusal is audited in it.
  const opened = await ctx.store.transaction(async (tx) => {
    try {
      await sessionGate(ctx, { path: kind, kind, user: actor.user.name, deviceId: actor.deviceId, asked: { asset: body.asset, scope, ttlSeconds, ticket: body.incident ?? 'none' } })
    } catch (error) {
      if (error instanceof ApiError && error.code === 'policy-denied') {
        await tx.appendAudit({ type: `${kind}.refused`, severity: 'high', actor: actor.user.name, data: { asset: body.asset, scope, reasons: error.extra.reasons ?? [] } })
        return { refused: error }
      }
      throw error
    }
    return { refused: undefined, ...(await open(tx)) }
  })
  if (opened.refused) throw opened.refused
  const { session, review, notifications } = opened
  ctx.notifier.kick()
  return {
    request,
    grant: (await grantFor(ctx, actor, session, true))!,
    review: toReview(review, ctx.now() / 1000),
    cappedFrom: asked > ttlSeconds ? asked : undefined,
    notifications,
  }
}
