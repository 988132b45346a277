// Renewal: a live session gets more time, never more than the policy allows for the whole
// session (measured from when it was issued), evaluated against the policy and roles as they are
// now. A break-glass or drill session never runs past the hard cap it was opened with. Every
// renewal is in the audit log.
import { formatDuration } from '../util/ttl.js'
import type { Grant } from '../wire/api.js'
import { ApiError, badInput, conflict, forbidden } from './api-error.js'
import type { Actor, BrokerContext } from './context.js'
import { sessionGate } from './gate.js'
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS } from '../wire/limits.js'
import { getSessionFor, grantFor } from './sessions.js'
import { extendTargetAccount } from './targets/accounts.js'
import type { Store } from './store/store.js'
import type { TicketVerdict } from './tickets/check.js'

/**
 * `ticket`: the ticket's verdict, looked up before (see tickets/check.ts). The checks and the
 * extension run in one transaction, so what the gate saw still holds when the expiry moves.
 */
export async function renewSession(ctx: BrokerContext, actor: Actor, id: string, ttlSeconds: number | undefined, ticket?: TicketVerdict): Promise<Grant> {
  await ctx.store.transaction((tx) => renewChecked(ctx, tx, actor, id, ttlSeconds, ticket))
  const session = (await ctx.store.sessions.get(id, ctx.now() / 1000))!
  // The account on the asset's target lives as long as the session (after the commit: no
  // transaction waits on a target).
  await extendTargetAccount(ctx, session)
  return (await grantFor(ctx, actor, session))!
}

async function renewChecked(ctx: BrokerContext, tx: Store, actor: Actor, id: string, ttlSeconds: number | undefined, ticket?: TicketVerdict): Promise<void> {
  const session = await getSessionFor(ctx, actor, id)
  // The renewed credential is bound to the device that holds the session; nobody else gets it.
  if (session.user !== actor.user.name || session.deviceId !== actor.deviceId) throw forbidden('Only the device that holds a session can renew it.')
  if (session.state !== 'active') throw conflict(`Session ${id} has already ended (${session.state}); open a new one.`)
  const request = (await tx.requests.get(session.requestId))!
  const ttl = ttlSeconds ?? request.ttlSeconds
  if (!Number.isInteger(ttl) || ttl < MIN_TTL_SECONDS || ttl > MAX_TTL_SECONDS) {
    throw badInput(`TTL must be between ${formatDuration(MIN_TTL_SECONDS)} and ${formatDuration(MAX_TTL_SECONDS)}.`)
  }
  const nowEpoch = Math.floor(ctx.now() / 1000)
  const expiresAtEpoch = nowEpoch + ttl
  const totalSeconds = expiresAtEpoch - session.issuedAtEpoch
  const whole = `renewing for ${formatDuration(ttl)} would make session ${id} ${formatDuration(totalSeconds)} long in all`
  let rule = request.rule ?? null
  let notes: string[] | undefined
  // A workload's job keeps the intent it declared; the source host is where this call comes from.
  const asked = { asset: session.asset, scope: session.scope, ttlSeconds: totalSeconds, ticket: session.ticket, renewing: session.id, intent: request.intent }
  if (session.kind !== 'standard') {
    await sessionGate(ctx, { path: 'renewal', kind: session.kind, user: session.user, deviceId: session.deviceId, asked })
    // The break-glass hard cap as the policy has it now; with no break-glass section left, what was granted.
    const cap = ctx.policy.breakGlass?.maxTtlSeconds ?? request.ttlSeconds
    if (totalSeconds > cap) {
      throw denied(id, [whole, `a ${session.kind} session never runs past the break-glass hard cap (${formatDuration(cap)})`])
    }
  } else {
    const decision = await sessionGate(ctx, { path: 'renewal', kind: 'standard', user: session.user, deviceId: session.deviceId, asked, ticket, sourceHost: actor.sourceHost })
    if (!decision.allow) throw denied(id, [whole, ...decision.reasons])
    rule = decision.rule ?? null
    notes = decision.notes
  }
  const from = session.expiresAt
  if (!(await tx.sessions.extend(id, expiresAtEpoch))) throw conflict(`Session ${id} has already ended; open a new one.`)
  await tx.appendAudit({
    type: 'session.renewed',
    severity: session.kind === 'standard' ? 'info' : 'high',
    actor: actor.user.name,
    sessionId: id,
    requestId: session.requestId,
    data: { from, to: new Date(expiresAtEpoch * 1000).toISOString(), ttlSeconds: ttl, totalSeconds, rule, deviceId: actor.deviceId, ...(notes ? { notes } : {}) },
  })
}

function denied(id: string, reasons: string[]): ApiError {
  return new ApiError(403, 'policy-denied', `Policy does not allow renewing ${id} that far.`, {
    reasons,
    nextSteps: ['Renew for less (--ttl), or open a new session with jit request / jit exec.'],
  })
}
