// Access requests: validation, the policy decision, approvals by other people, cancel, and
// waiting for a decision (long-poll).
import { once } from 'node:events'
import { isAssetPath } from '../policy/asset-pattern.js'
import { approvalRefusals } from '../policy/approval.js'
import { ticketSystem } from '../policy/evaluate.js'
import type { Decision } from '../policy/types.js'
import { formatDuration } from '../util/ttl.js'
import { sessionGate } from './gate.js'
import { newId, nowIso } from '../util/ids.js'
import type { AccessRequest, CreateRequestBody, RequestResult } from '../wire/api.js'
import { ApiError, badInput, conflict, forbidden, notFound } from './api-error.js'
import { OVERSIGHT_ROLES, hasAnyRole, isVendor, type Actor, type BrokerContext } from './context.js'
import { decisionRecord, policyDenied } from './decide.js'
import { MAX_PENDING_PER_USER, MAX_TTL_SECONDS, MIN_TTL_SECONDS, PENDING_TIMEOUT_SECONDS, SCOPE_PATTERN } from '../wire/limits.js'
import { grantFor, openSession } from './sessions.js'
import type { SessionRecord } from './store/records.js'
import type { Store } from './store/store.js'
import { checkTicket, type TicketVerdict } from './tickets/check.js'
import { plainAddress } from '../policy/workload-rules.js'

/** Checks the shape of a request against facts, before any policy: bad input changes nothing. */
async function validate(ctx: BrokerContext, body: CreateRequestBody): Promise<void> {
  if (!ticketSystem(ctx.policy, body.ticket)) {
    const expected = ctx.policy.ticketFormats.map((f) => `${f.system}: ${f.pattern.source}`).join('; ')
    throw badInput(`Ticket "${body.ticket}" is not a ticket id this broker knows (${expected}).`, ['Check the work order, change or incident number.'])
  }
  if (!isAssetPath(body.asset)) throw badInput(`"${body.asset}" is not an asset path (like site/area/line/cell/asset).`)
  if (!(await ctx.store.assets.get(body.asset))) throw badInput(`Asset ${body.asset} is not in the inventory.`, ['Check the path; jit admin asset list shows the inventory.'])
  if (!SCOPE_PATTERN.test(body.scope)) throw badInput(`Scope "${body.scope}" is not a scope name (lower-case letters, digits, dashes).`)
  if (!Number.isInteger(body.ttlSeconds) || body.ttlSeconds < MIN_TTL_SECONDS || body.ttlSeconds > MAX_TTL_SECONDS) {
    throw badInput(`TTL must be between ${formatDuration(MIN_TTL_SECONDS)} and ${formatDuration(MAX_TTL_SECONDS)}.`)
  }
}

/**
 * `ticket`: the ticket's verdict, looked up before (see tickets/check.ts). The checks and the
 * writes run in one transaction, so what the gate saw (who holds the asset, how many requests
 * wait) is still true when the request and its session are written.
 */
export async function createRequest(ctx: BrokerContext, actor: Actor, body: CreateRequestBody, ticket?: TicketVerdict): Promise<{ status: number; result: RequestResult }> {
  // Bad input is refused before anything else, a ticket system's lookup included.
  await validate(ctx, body)
  const kind = body.kind ?? 'standard'
  if (kind !== 'standard') throw badInput(`Use jit break-glass or jit drill for ${kind} access.`)
  ticket ??= await checkTicket(ctx, actor.user, body.ticket, body.asset)
  // What it reads and writes concerns this user and this asset only (their standing, reviews,
  // pending requests; the asset's holders and state): on a shared database it runs beside other
  // users' requests for other assets.
  const { request, decision, session } = await ctx.store.transaction(async (tx) => {
    const decision = await sessionGate(ctx, { path: 'request', kind: 'standard', user: actor.user.name, deviceId: actor.deviceId, asked: body, ticket, sourceHost: actor.sourceHost })
    if (decision.allow && decision.approvalsNeeded > 0) await assertPendingRoom(ctx, actor)
    assertDeliveryAllowed(decision, body)
    const request = newRequest(ctx, actor, body, decision)
    return { request, decision, session: await recordNewRequest(ctx, tx, actor, request, decision) }
  }, { user: actor.user.name, asset: body.asset })
  if (request.state === 'denied') throw policyDenied(`Policy denies ${body.scope} on ${body.asset}.`, decision, request.id)
  return { status: session ? 201 : 202, result: { request, grant: session ? await grantFor(ctx, actor, session, true) : undefined } }
}

function newRequest(ctx: BrokerContext, actor: Actor, body: CreateRequestBody, decision: Decision): AccessRequest {
  const kind = body.kind ?? 'standard'
  return {
    id: newId('req'),
    user: actor.user.name,
    deviceId: actor.deviceId,
    ticket: body.ticket,
    asset: body.asset,
    scope: body.scope,
    ttlSeconds: body.ttlSeconds,
    reason: body.reason,
    kind,
    state: decision.allow ? (decision.approvalsNeeded === 0 ? 'approved' : 'pending') : 'denied',
    createdAt: nowIso(ctx.now()),
    rule: decision.rule,
    reasons: decision.reasons,
    approvalsNeeded: decision.approvalsNeeded,
    approverRoles: decision.approverRoles,
    approvals: [],
    ...(body.intent !== undefined ? { intent: body.intent } : {}),
    // Kept for the last approval's decision again, as the rules may name it (conditions.source_host).
    ...(actor.sourceHost ? { sourceHost: plainAddress(actor.sourceHost) } : {}),
  }
}

/** Writes a new request, its decision and (approved by the policy alone) its session; the session, if one opened. */
async function recordNewRequest(ctx: BrokerContext, tx: Store, actor: Actor, request: AccessRequest, decision: Decision): Promise<SessionRecord | undefined> {
  await tx.appendAudit({
    type: 'request.created',
    actor: actor.user.name,
    requestId: request.id,
    data: { ticket: request.ticket, asset: request.asset, scope: request.scope, ttlSeconds: request.ttlSeconds, reason: request.reason, deviceId: actor.deviceId, ...workloadAuditData(actor, request) },
  })
  await tx.appendAudit({
    type: 'policy.decision',
    actor: 'broker',
    requestId: request.id,
    data: decisionRecord(ctx, decision, 'request'),
  })
  if (request.state === 'denied') {
    request.decidedAt = request.createdAt
    request.decidedBy = 'policy'
    await tx.requests.save(request)
    return undefined
  }
  if (request.state === 'approved') {
    request.decidedAt = request.createdAt
    request.decidedBy = 'policy'
    await tx.appendAudit({ type: 'request.approved', actor: 'broker', requestId: request.id, data: { rule: decision.rule, automatic: true } })
    const opened = await openSession(ctx, request, decision.cacheAllowed)
    await tx.requests.save(request)
    return opened
  }
  await tx.requests.save(request)
  return undefined
}

/** A workload's request names the workload, its owner, intent and source host beside the actor (its SPIFFE ID). */
function workloadAuditData(actor: Actor, request: AccessRequest): Record<string, unknown> {
  if (!actor.workload) return {}
  return { workload: actor.workload.name, owner: actor.workload.owner, intent: request.intent ?? null, sourceHost: request.sourceHost ?? null }
}

/** A user may have at most MAX_PENDING_PER_USER requests waiting for approval. */
async function assertPendingRoom(ctx: BrokerContext, actor: Actor): Promise<void> {
  if ((await ctx.store.requests.list({ user: actor.user.name, state: 'pending', limit: MAX_PENDING_PER_USER })).length < MAX_PENDING_PER_USER) return
  throw new ApiError(429, 'bad-input', `You already have ${MAX_PENDING_PER_USER} requests waiting for approval; no more until some are decided.`, {
    nextSteps: ['See them: jit requests', 'Withdraw the ones you no longer need: jit cancel ID'],
  })
}

/**
 * A rule that forbids caching (vendors) grants only to a device that says it will hold the
 * credential in memory for one wrapped command. Refused before anything is recorded or opened.
 * The device states this itself: one that lies only defeats its own user's caching rule on a
 * credential it could have received in memory anyway, so the broker takes it at its word.
 */
function assertDeliveryAllowed(decision: Decision, body: CreateRequestBody): void {
  if (!decision.allow || decision.cacheAllowed || body.delivery === 'memory') return
  throw new ApiError(403, 'policy-denied', `Policy forbids caching this credential, so a plain jit request cannot take it: use jit exec / jit shell / jit connect, which hold it in memory.`, {
    reasons: [`rule ${decision.rule} forbids caching the credential on the device`],
    nextSteps: [`jit exec --ticket ${body.ticket} --asset ${body.asset} --scope ${body.scope} -- CMD   (or jit shell / jit connect)`],
  })
}

export async function getRequestFor(ctx: BrokerContext, actor: Actor, id: string): Promise<AccessRequest> {
  const request = await ctx.store.requests.get(id)
  if (!request) throw notFound(`Request ${id}`)
  const mayApprove = hasAnyRole(actor.user, request.approverRoles) && !isVendor(actor.user)
  if (request.user !== actor.user.name && !mayApprove && !hasAnyRole(actor.user, OVERSIGHT_ROLES)) throw notFound(`Request ${id}`)
  return request
}

export async function resultFor(ctx: BrokerContext, actor: Actor, request: AccessRequest): Promise<RequestResult> {
  if (request.state !== 'approved' || !request.sessionId) return { request }
  const session = await ctx.store.sessions.get(request.sessionId, ctx.now() / 1000)
  return { request, grant: session ? await grantFor(ctx, actor, session, true) : undefined }
}

/** Answers when the request leaves `pending`, or after waitSeconds, whichever is first. */
export async function waitForRequest(ctx: BrokerContext, actor: Actor, id: string, waitSeconds: number, signal: AbortSignal): Promise<RequestResult> {
  let request = await getRequestFor(ctx, actor, id)
  if (request.state === 'pending' && waitSeconds > 0) {
    const timeout = AbortSignal.timeout(waitSeconds * 1000)
    try {
      await once(ctx.events, `request:${id}`, { signal: AbortSignal.any([timeout, signal]) })
    } catch {
      // Timed out or the caller went away: answer with the state as it is.
    }
    request = await getRequestFor(ctx, actor, id)
  }
  return resultFor(ctx, actor, request)
}

async function pendingFor(ctx: BrokerContext, id: string): Promise<AccessRequest> {
  const request = await ctx.store.requests.get(id)
  if (!request) throw notFound(`Request ${id}`)
  if (request.state !== 'pending') throw conflict(`Request ${id} is already ${request.state}.`)
  return request
}

function assertMayDecide(actor: Actor, request: AccessRequest): void {
  const reasons = approvalRefusals(request, actor.user)
  if (reasons.length > 0) throw forbidden(`You cannot decide request ${request.id}.`, reasons)
}

export async function approveRequest(ctx: BrokerContext, actor: Actor, id: string, comment: string | undefined, ticket?: TicketVerdict): Promise<RequestResult> {
  let refused: Decision | undefined
  let gateRefusal: ApiError | undefined
  const request = await ctx.store.transaction(async (tx) => {
    const request = await pendingFor(ctx, id)
    assertMayDecide(actor, request)
    let now: Decision | undefined
    if (request.approvals.length + 1 >= request.approvalsNeeded) {
      // Things change while a request waits (the window closes, the asset starts running,
      // someone else takes exclusive control): the last approval decides again, as of now.
      try {
        now = await sessionGate(ctx, { path: 'approval', kind: 'standard', user: request.user, deviceId: request.deviceId, asked: request, ticket, sourceHost: request.sourceHost })
      } catch (error) {
        // Refused by the gate before the rules (standing, review): recorded like a policy refusal.
        if (!(error instanceof ApiError)) throw error
        gateRefusal = error
        const reasons = error.extra.reasons ?? [error.message]
        await tx.appendAudit({ type: 'policy.decision', actor: 'broker', requestId: id, data: { allow: false, reasons, stage: 'approval', gate: error.code, policy: ctx.policy.digest.slice(0, 16) } })
        return request
      }
      if (!now.allow) {
        refused = now
        await tx.appendAudit({ type: 'policy.decision', actor: 'broker', requestId: id, data: decisionRecord(ctx, refused, 'approval') })
        return request
      }
      if (now.notes) await tx.appendAudit({ type: 'policy.decision', actor: 'broker', requestId: id, data: decisionRecord(ctx, now, 'approval') })
    }
    request.approvals.push({ by: actor.user.name, at: nowIso(ctx.now()), comment })
    await tx.appendAudit({ type: 'request.approval', actor: actor.user.name, requestId: id, data: { comment: comment ?? null, count: request.approvals.length, needed: request.approvalsNeeded } })
    if (request.approvals.length >= request.approvalsNeeded) {
      request.state = 'approved'
      request.decidedAt = nowIso(ctx.now())
      request.decidedBy = request.approvals.map((a) => a.by).join(', ')
      request.decisionComment = comment
      await tx.appendAudit({ type: 'request.approved', actor: actor.user.name, requestId: id, data: { approvers: request.approvals.map((a) => a.by) } })
      await openSession(ctx, request, now?.cacheAllowed ?? false)
    }
    await tx.requests.save(request)
    return request
  })
  if (gateRefusal) throw gateRefusal
  if (refused) throw policyDenied(`Request ${id} cannot be approved now.`, refused, id)
  ctx.events.emit(`request:${id}`)
  return { request }
}

export async function denyRequest(ctx: BrokerContext, actor: Actor, id: string, reason: string): Promise<RequestResult> {
  const request = await ctx.store.transaction(async (tx) => {
    const request = await pendingFor(ctx, id)
    assertMayDecide(actor, request)
    Object.assign(request, { state: 'denied', decidedAt: nowIso(ctx.now()), decidedBy: actor.user.name, decisionComment: reason })
    await tx.appendAudit({ type: 'request.denied', actor: actor.user.name, requestId: id, data: { reason } })
    await tx.requests.save(request)
    return request
  })
  ctx.events.emit(`request:${id}`)
  return { request }
}

export async function cancelRequest(ctx: BrokerContext, actor: Actor, id: string): Promise<RequestResult> {
  const request = await ctx.store.transaction(async (tx) => {
    const request = await pendingFor(ctx, id)
    if (request.user !== actor.user.name) throw forbidden('Only the requester can cancel a request.')
    Object.assign(request, { state: 'cancelled', decidedAt: nowIso(ctx.now()), decidedBy: actor.user.name })
    await tx.appendAudit({ type: 'request.cancelled', actor: actor.user.name, requestId: id, data: {} })
    await tx.requests.save(request)
    return request
  })
  ctx.events.emit(`request:${id}`)
  return { request }
}

export async function listRequestsFor(ctx: BrokerContext, actor: Actor, pending: boolean): Promise<AccessRequest[]> {
  if (!pending) return ctx.store.requests.list({ user: actor.user.name })
  // What waits for me: pending requests I may decide on.
  return (await ctx.store.requests.list({ state: 'pending' })).filter((request) => request.user !== actor.user.name && !isVendor(actor.user) && hasAnyRole(actor.user, request.approverRoles) && !request.approvals.some((a) => a.by === actor.user.name))
}

/** Pending requests nobody decided on in time end as expired. */
export async function expireStaleRequests(ctx: BrokerContext): Promise<void> {
  const cutoff = ctx.now() - PENDING_TIMEOUT_SECONDS * 1000
  for (const request of await ctx.store.requests.list({ state: 'pending', limit: 1000 })) {
    if (Date.parse(request.createdAt) > cutoff) continue
    await ctx.store.transaction(async (tx) => {
      Object.assign(request, { state: 'expired', decidedAt: nowIso(ctx.now()), decidedBy: 'broker' })
      await tx.appendAudit({ type: 'request.expired', actor: 'broker', requestId: request.id, data: {} })
      await tx.requests.save(request)
    })
    ctx.events.emit(`request:${request.id}`)
  }
}
