// The ticket checks at request time, at the last approval and at every renewal: the ticket
// exists, is open, names the asset (or its line or cell) and is assigned to the requester (for a
// vendor, to their organisation). Lookups are HTTP and the broker's decision is synchronous, so
// the verdict is fetched first (checkTicket) and folded into the decision (withTicketVerdict),
// where each failed check becomes a reason in the denial. A system that cannot be reached
// follows the matched rule's on_unreachable: deny (default) or allow with a note for the audit.
import { isVendor, ticketSystem } from '../../policy/evaluate.js'
import type { Decision, Subject, TicketSystemConfig } from '../../policy/types.js'
import { TICKET_ID_PATTERN } from '../../wire/tickets.js'
import type { BrokerContext } from '../context.js'
import { TicketSystemUnreachable, type TicketFacts } from './connector.js'
import { ticketLookups } from './lookups.js'

export type TicketVerdict =
  /** No connector for this ticket's system: its format was all there was to check. */
  | { kind: 'unchecked' }
  | { kind: 'checked'; system: string; ticket: string; failures: string[] }
  | { kind: 'unreachable'; system: string; ticket: string; problem: string }

export const UNCHECKED: TicketVerdict = { kind: 'unchecked' }

/**
 * `fresh`: ask the ticket system now, not the lookup cache. The paths that open or extend a
 * session on this verdict (the last approval, a renewal) pass it: a ticket closed a moment ago
 * must not still count as open there.
 */
export async function checkTicket(ctx: BrokerContext, user: Subject, ticket: string, asset: string, options: { fresh?: boolean } = {}): Promise<TicketVerdict> {
  const system = ticketSystem(ctx.policy, ticket)
  const config = system ? ctx.policy.ticketSystems[system] : undefined
  if (!system || !config) return UNCHECKED
  // A loose format in the policy must not let query syntax (ServiceNow's ^, a path's /) reach a ticket system.
  if (!TICKET_ID_PATTERN.test(ticket)) return { kind: 'checked', system, ticket, failures: [`"${ticket}" is not a ticket id the ${system} ticket system can look up (letters, digits, . _ -)`] }
  try {
    const lookup = await ticketLookups(ctx).lookup(system, ticket, options)
    if (!lookup) return UNCHECKED
    if (!lookup.found) return { kind: 'checked', system, ticket, failures: [`ticket ${ticket} does not exist in the ${system} ticket system`] }
    return { kind: 'checked', system, ticket, failures: ticketFailures(lookup.ticket, user, asset, config) }
  } catch (error) {
    if (error instanceof TicketSystemUnreachable) return { kind: 'unreachable', system, ticket, problem: error.message }
    throw error
  }
}

/** Every check the ticket fails, in words a technician understands; empty when it passes. */
export function ticketFailures(ticket: TicketFacts, user: Subject, asset: string, config: Pick<TicketSystemConfig, 'userFormat'>): string[] {
  return [openFailure(ticket), assetFailure(ticket, asset), assigneeFailure(ticket, user, config)].filter((reason): reason is string => reason !== undefined)
}

function openFailure(ticket: TicketFacts): string | undefined {
  if (ticket.open) return undefined
  const said = ticket.state && ticket.state.toLowerCase() !== 'closed' ? ` (${ticket.state})` : ''
  return `ticket ${ticket.id} is closed${said}; access needs an open ticket`
}

/** The asset itself, or a line or cell above it: a ticket for a whole site or area is too broad. */
const MIN_ANCESTOR_DEPTH = 2

function assetFailure(ticket: TicketFacts, asset: string): string | undefined {
  if (ticket.assets.length === 0) return `ticket ${ticket.id} names no asset; it must name ${asset} or its line or cell`
  const covers = (named: string) => named === asset || (asset.startsWith(`${named}/`) && named.split('/').length >= MIN_ANCESTOR_DEPTH)
  if (ticket.assets.some(covers)) return undefined
  return `ticket ${ticket.id} is for ${ticket.assets.join(', ')}, not ${asset} (nor its line or cell)`
}

function assigneeFailure(ticket: TicketFacts, user: Subject, config: Pick<TicketSystemConfig, 'userFormat'>): string | undefined {
  const me = config.userFormat.replaceAll('{user}', user.name).toLowerCase()
  const mine = ticket.assignees.some((identity) => identity.toLowerCase() === me)
  if (mine) return undefined
  const holder = ticket.assignees[0] ?? ticket.org
  if (isVendor(user)) {
    if (user.org !== undefined && ticket.org?.toLowerCase() === user.org.toLowerCase()) return undefined
    return `ticket ${ticket.id} is assigned to ${holder ?? 'nobody'}; vendor work must be assigned to ${user.org ?? 'your organisation'}`
  }
  if (!holder) return `ticket ${ticket.id} is not assigned to anyone; it must be assigned to ${user.name}`
  return `ticket ${ticket.id} is assigned to ${holder}, not to ${user.name}`
}

/**
 * The decision with the ticket's verdict folded in: failures deny, an unreachable system follows
 * the rule. No verdict at all (a caller that did not look the ticket up) passes only a ticket
 * whose system has no connector: fail closed.
 */
export function withTicketVerdict(ctx: BrokerContext, decision: Decision, verdict: TicketVerdict | undefined, ticket: string): Decision {
  if (!verdict) {
    const system = ticketSystem(ctx.policy, ticket)
    if (!system || !ctx.policy.ticketSystems[system]) return decision
    verdict = { kind: 'unreachable', system, ticket, problem: 'it was not asked on this path' }
  }
  if (verdict.kind === 'unchecked') return decision
  const denied = (reasons: string[]): Decision => ({
    ...decision,
    allow: false,
    reasons: decision.allow ? reasons : [...decision.reasons, ...reasons],
    approvalsNeeded: 0,
    approverRoles: [],
    cacheAllowed: false,
  })
  if (verdict.kind === 'checked') return verdict.failures.length === 0 ? decision : denied(verdict.failures)
  const rule = ctx.policy.rules.find((r) => r.name === decision.rule)
  const problem = `the ${verdict.system} ticket system could not be asked about ${verdict.ticket}: ${verdict.problem}`
  if (decision.allow && rule?.ticket.onUnreachable === 'allow') {
    return { ...decision, notes: [...(decision.notes ?? []), `${problem}; rule ${rule.name} allows it unchecked (on_unreachable: allow)`] }
  }
  return denied([`${problem}; ${rule ? `rule ${rule.name} refuses` : 'jit refuses'} until it can be checked`])
}

/** The verdict for the last approval of a pending request: the ticket must suit the requester. */
export async function ticketOfRequest(ctx: BrokerContext, requestId: string): Promise<TicketVerdict | undefined> {
  const request = await ctx.store.requests.get(requestId)
  if (!request || request.state !== 'pending' || request.approvals.length + 1 < request.approvalsNeeded) return undefined
  const requester = await ctx.store.users.get(request.user)
  return requester ? checkTicket(ctx, requester, request.ticket, request.asset, { fresh: true }) : undefined
}

/** The verdict for renewing a standard session, by its holder. */
export async function ticketOfSession(ctx: BrokerContext, actor: { user: Subject }, sessionId: string): Promise<TicketVerdict | undefined> {
  const session = await ctx.store.sessions.get(sessionId, ctx.now() / 1000)
  if (!session || session.kind !== 'standard' || session.user !== actor.user.name) return undefined
  return checkTicket(ctx, actor.user, session.ticket, session.asset, { fresh: true })
}
