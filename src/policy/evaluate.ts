// Decides one request against the policy. Deny by default; first matching rule wins; a denial
// lists every reason, in words a technician understands. Some things hold whatever the rules
// say (guards): the asset must be in the inventory, a vendor only reaches assets whose
// contract names their organisation, a ticket must fit a known format. An exclusive scope
// already held on the asset is refused with who holds it and until when.
import { formatDuration } from '../util/ttl.js'
import { matchesAsset } from './asset-pattern.js'
import type { AssetFacts, Decision, DecisionInput, Holder, Policy, Rule, Subject } from './types.js'
import { jobConditionMisses, workloadSelected } from './workload-rules.js'
import { describeClock, describeTimeOfDay, describeWindow, inTimeOfDay, inWindow } from './windows.js'

export const isVendor = (user: Subject): boolean => user.org !== undefined || user.roles.includes('vendor')

export function whoMatches(rule: Pick<Rule, 'who'>, user: Subject): boolean {
  if (user.workload) return workloadSelected(rule.who.workloads, user.workload)
  const { users, roles, orgs } = rule.who
  return Boolean(
    users?.includes(user.name) ||
      roles?.some((role) => user.roles.includes(role)) ||
      (user.org !== undefined && orgs?.includes(user.org)),
  )
}

export const assetMatches = (rule: Pick<Rule, 'assets'>, path: string): boolean => rule.assets.some((pattern) => matchesAsset(pattern, path))

/** Which ticket system a ticket id belongs to, or undefined if it fits no known format. */
export function ticketSystem(policy: Policy, ticket: string): string | undefined {
  if (policy.ticketFormats.length === 0) return 'any'
  return policy.ticketFormats.find((format) => format.pattern.test(ticket))?.system
}

/** What refuses the request whatever rule matches. */
export function guardReasons(policy: Policy, input: DecisionInput): string[] {
  const reasons: string[] = []
  if (!input.facts) reasons.push(`${input.asset} is not in the asset inventory`)
  else if (isVendor(input.user)) {
    const org = input.user.org
    if (org === undefined) reasons.push(`${input.user.name} is a vendor account without an organisation, so no contract covers it`)
    else if (!input.facts.vendors.includes(org)) reasons.push(`${org} has no contract for ${input.asset}; vendors only reach assets their contract names`)
  }
  if (input.ticket !== undefined && !ticketSystem(policy, input.ticket)) {
    reasons.push(`ticket ${input.ticket} fits no known ticket format (${policy.ticketFormats.map((f) => f.system).join(', ')})`)
  }
  return reasons
}

/** Why this rule does not allow the request; an empty list means it does. */
export function ruleMisses(policy: Policy, rule: Rule, input: DecisionInput): string[] {
  const misses: string[] = []
  const { facts } = input
  const at = input.at ?? Date.now()
  if (!whoMatches(rule, input.user)) misses.push(`rule ${rule.name} is not for ${input.user.name}`)
  if (!assetMatches(rule, input.asset)) misses.push(`rule ${rule.name} does not cover ${input.asset}`)
  if (!rule.scopes.includes(input.scope)) misses.push(`rule ${rule.name} allows ${rule.scopes.join(', ')}, not ${input.scope}`)
  if (input.ttlSeconds > rule.maxTtlSeconds) {
    misses.push(`rule ${rule.name} allows at most ${formatDuration(rule.maxTtlSeconds)}; ${formatDuration(input.ttlSeconds)} was asked`)
  }
  misses.push(...ticketMisses(policy, rule, input.ticket))
  misses.push(...jobConditionMisses(rule, input.intent, input.sourceHost))
  if (!facts) {
    if (rule.assetAttributes || rule.conditions.assetState || rule.conditions.inMaintenanceWindow || rule.approval?.fromOwnerGroup) {
      misses.push(`rule ${rule.name} depends on what the inventory says about ${input.asset}, and it says nothing`)
    }
    return misses
  }
  misses.push(...attributeMisses(rule, facts))
  misses.push(...conditionMisses(policy, rule, facts, at))
  if (rule.approval?.fromOwnerGroup && rule.approval.fromRoles.length === 0 && !facts.owner) {
    misses.push(`rule ${rule.name} needs approval from the owner group of ${facts.path}, and it has none`)
  }
  return misses
}

function ticketMisses(policy: Policy, rule: Rule, ticket: string | undefined): string[] {
  const systems = rule.ticket.systems
  if (ticket === undefined) return rule.ticket.required ? [`rule ${rule.name} needs a ticket${systems.length ? ` (${systems.join(' or ')})` : ''}`] : []
  if (systems.length === 0) return []
  const system = ticketSystem(policy, ticket)
  if (system && systems.includes(system)) return []
  return [`rule ${rule.name} needs a ${systems.join(' or ')} ticket; ${ticket} is ${system ? `a ${system} ticket` : 'of no known system'}`]
}

function attributeMisses(rule: Rule, facts: AssetFacts): string[] {
  const want = rule.assetAttributes
  if (!want) return []
  const misses: string[] = []
  if (want.safetyCritical === true && !facts.safetyCritical) misses.push(`rule ${rule.name} is only for safety-critical assets; ${facts.path} is not one`)
  if (want.safetyCritical === false && facts.safetyCritical) misses.push(`rule ${rule.name} is not for safety-critical assets; ${facts.path} is one`)
  if (want.owners && !(facts.owner && want.owners.includes(facts.owner))) {
    misses.push(`rule ${rule.name} is only for assets owned by ${want.owners.join(' or ')}; ${facts.path} is owned by ${facts.owner ?? 'nobody'}`)
  }
  return misses
}

function conditionMisses(policy: Policy, rule: Rule, facts: AssetFacts, at: number): string[] {
  const { assetState, inMaintenanceWindow, timeOfDay } = rule.conditions
  const misses: string[] = []
  if (assetState && !assetState.includes(facts.state)) {
    misses.push(`rule ${rule.name} needs ${facts.path} to be ${assetState.join(' or ')}; it is ${facts.state}`)
  }
  if (inMaintenanceWindow === true) {
    if (facts.windows.length === 0) misses.push(`rule ${rule.name} allows this only in a maintenance window, and ${facts.path} has none`)
    else if (!facts.windows.some((w) => inWindow(w, at))) {
      const zone = facts.windows[0].timeZone
      misses.push(`rule ${rule.name} allows this only in the maintenance window of ${facts.path} (${facts.windows.map(describeWindow).join('; ')}); it is ${describeClock(at, zone)} there`)
    }
  } else if (inMaintenanceWindow === false && facts.windows.some((w) => inWindow(w, at))) {
    misses.push(`rule ${rule.name} does not apply during the maintenance window of ${facts.path}`)
  }
  if (timeOfDay) {
    const zone = timeOfDay.timeZone ?? facts.timeZone ?? policy.timeZone
    if (!inTimeOfDay(timeOfDay, zone, at)) {
      misses.push(`rule ${rule.name} allows this only ${describeTimeOfDay(timeOfDay, zone)}; it is ${describeClock(at, zone)} there`)
    }
  }
  return misses
}

export function approverRolesOf(rule: Rule, facts: AssetFacts | undefined): string[] {
  if (!rule.approval) return []
  const roles = [...rule.approval.fromRoles]
  if (rule.approval.fromOwnerGroup && facts?.owner && !roles.includes(facts.owner)) roles.push(facts.owner)
  return roles
}

export function heldBy(rule: Rule, input: DecisionInput): Holder | undefined {
  if (!rule.exclusive || !input.holders) return undefined
  const holders = typeof input.holders === 'function' ? input.holders() : input.holders
  return holders.find((holder) => holder.scope === input.scope)
}

export function heldReason(input: DecisionInput, holder: Holder): string {
  return `${input.scope} on ${input.asset} is exclusive and held by ${holder.user} until ${holder.until.replace(/\.\d{3}Z$/, 'Z')}`
}

/**
 * Another person's exclusive hold on this scope of the asset: a rule that could apply to the
 * asset makes the scope exclusive and someone holds it (input.holders: the asset's active
 * sessions, less the one being renewed). Break-glass asks this of every rule, not just the
 * requester's: it skips approvers, never another person's hold.
 */
export function exclusiveHold(policy: Policy, input: DecisionInput): Holder | undefined {
  const exclusive = policy.index.candidates(input.asset).some((rule) => rule.exclusive && rule.scopes.includes(input.scope) && assetMatches(rule, input.asset))
  if (!exclusive || !input.holders) return undefined
  const holders = typeof input.holders === 'function' ? input.holders() : input.holders
  return holders.find((holder) => holder.scope === input.scope)
}

/**
 * Break-glass (and its drill): no rule and no approver, only who, where and which scopes the
 * policy's break-glass section names, and never over another person's exclusive hold. The TTL is
 * not refused here: the caller caps it at the section's hard cap.
 */
export function evaluateBreakGlass(policy: Policy, input: DecisionInput): Decision {
  const section = policy.breakGlass
  if (!section) return deny(['this broker\'s policy has no break-glass section'])
  const holder = exclusiveHold(policy, input)
  if (holder) return deny([heldReason(input, holder)], { exclusive: true, heldBy: holder })
  const reasons: string[] = []
  if (!whoMatches(section, input.user)) reasons.push(`break-glass is not for ${input.user.name} (${input.user.roles.join(', ')})`)
  if (!assetMatches(section, input.asset)) reasons.push(`break-glass does not cover ${input.asset}`)
  if (!section.scopes.includes(input.scope)) reasons.push(`break-glass allows ${section.scopes.join(', ')}, not ${input.scope}`)
  if (reasons.length > 0) return deny(reasons)
  return { allow: true, reasons: [], approvalsNeeded: 0, approverRoles: [], cacheAllowed: true, maxTtlSeconds: section.maxTtlSeconds }
}

const deny = (reasons: string[], extra: Partial<Decision> = {}): Decision => ({ allow: false, reasons, approvalsNeeded: 0, approverRoles: [], cacheAllowed: false, ...extra })

export function evaluate(policy: Policy, input: DecisionInput): Decision {
  const guards = guardReasons(policy, input)
  // Rules about this person, asset and scope explain a denial best; failing those, the rules
  // about this person and asset (they say which scopes there are).
  const nearMisses: string[] = []
  const otherScopes: string[] = []
  // Caps of the rules that would allow this but for the TTL alone.
  const ttlOnlyCaps: number[] = []
  let nearRules = 0
  for (const rule of policy.index.candidates(input.asset)) {
    // Cheap tests first: most candidates are for someone else or another part of the subtree.
    if (!whoMatches(rule, input.user) || !assetMatches(rule, input.asset)) continue
    const misses = ruleMisses(policy, rule, input)
    if (misses.length > 0) {
      if (rule.scopes.includes(input.scope)) {
        nearMisses.push(...misses)
        nearRules++
        if (misses.length === 1 && input.ttlSeconds > rule.maxTtlSeconds) ttlOnlyCaps.push(rule.maxTtlSeconds)
      } else otherScopes.push(...misses)
      continue
    }
    if (guards.length > 0) return deny(guards, { rule: rule.name })
    const holder = heldBy(rule, input)
    if (holder) return deny([heldReason(input, holder)], { rule: rule.name, exclusive: true, heldBy: holder })
    return {
      allow: true,
      rule: rule.name,
      reasons: [],
      approvalsNeeded: rule.approval?.count ?? 0,
      approverRoles: approverRolesOf(rule, input.facts),
      cacheAllowed: rule.cache,
      maxTtlSeconds: rule.maxTtlSeconds,
      exclusive: rule.exclusive,
    }
  }
  if (guards.length === 0 && nearRules > 0 && ttlOnlyCaps.length === nearRules) {
    // Only the length stands in the way: say so, not "no rule lets you".
    return deny([`${formatDuration(input.ttlSeconds)} is over the cap for ${input.scope} on ${input.asset}: ask for at most ${formatDuration(Math.max(...ttlOnlyCaps))}`, ...nearMisses])
  }
  return deny([...guards, `no rule lets ${input.user.name} have ${input.scope} on ${input.asset} (deny by default)`, ...(nearMisses.length > 0 ? nearMisses : otherScopes)])
}
