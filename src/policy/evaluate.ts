// Decides one request against the policy. Deny by default; a denial lists every reason, in
// words a technician understands. First matching rule wins.
import { formatDuration } from '../util/ttl.js'
import { matchesAsset } from './asset-pattern.js'
import type { Decision, DecisionInput, Policy, Rule, Subject } from './types.js'

export function whoMatches(rule: Rule, user: Subject): boolean {
  const { users, roles, orgs } = rule.who
  return Boolean(
    users?.includes(user.name) ||
      roles?.some((role) => user.roles.includes(role)) ||
      (user.org !== undefined && orgs?.includes(user.org)),
  )
}

/** Why this rule does not allow the request; an empty list means it does. */
export function ruleMisses(rule: Rule, input: DecisionInput): string[] {
  const misses: string[] = []
  if (!whoMatches(rule, input.user)) misses.push(`rule ${rule.name} is not for ${input.user.name}`)
  if (!rule.assets.some((pattern) => matchesAsset(pattern, input.asset))) misses.push(`rule ${rule.name} does not cover ${input.asset}`)
  if (!rule.scopes.includes(input.scope)) misses.push(`rule ${rule.name} allows ${rule.scopes.join(', ')}, not ${input.scope}`)
  if (input.ttlSeconds > rule.maxTtlSeconds) {
    misses.push(`rule ${rule.name} allows at most ${formatDuration(rule.maxTtlSeconds)}; ${formatDuration(input.ttlSeconds)} was asked`)
  }
  return misses
}

export function evaluate(policy: Policy, input: DecisionInput): Decision {
  const nearMisses: string[] = []
  for (const rule of policy.rules) {
    const misses = ruleMisses(rule, input)
    if (misses.length === 0) {
      return {
        allow: true,
        rule: rule.name,
        reasons: [],
        approvalsNeeded: rule.approval?.count ?? 0,
        approverRoles: rule.approval?.fromRoles ?? [],
        cacheAllowed: rule.cache,
        maxTtlSeconds: rule.maxTtlSeconds,
      }
    }
    // A rule that is about this person and this asset explains the denial best.
    if (whoMatches(rule, input.user) && rule.assets.some((pattern) => matchesAsset(pattern, input.asset))) nearMisses.push(...misses)
  }
  const reasons = [`no rule lets ${input.user.name} have ${input.scope} on ${input.asset} (deny by default)`, ...nearMisses]
  return { allow: false, reasons, approvalsNeeded: 0, approverRoles: [], cacheAllowed: false }
}

/** Which ticket system a ticket id belongs to, or undefined if it fits no known format. */
export function ticketSystem(policy: Policy, ticket: string): string | undefined {
  if (policy.ticketFormats.length === 0) return 'any'
  return policy.ticketFormats.find((format) => format.pattern.test(ticket))?.system
}
