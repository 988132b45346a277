// Explains a decision: which rule matched and why each other rule about this person or this
// asset did not. Unlike evaluate() it walks every rule (no index), so it also shows that the
// indexed decision and a plain first-match scan agree.
import { assetMatches, evaluate, guardReasons, heldBy, heldReason, ruleMisses, whoMatches } from './evaluate.js'
import type { Decision, DecisionInput, Policy } from './types.js'
import { describeLocal } from './windows.js'
import { modbusGrant } from './modbus.js'
import type { ModbusGrant } from '../wire/gateway.js'

export interface RuleVerdict {
  rule: string
  line?: number
  /** matched: this rule decides; skipped: an earlier rule already matched; missed: see why. */
  verdict: 'matched' | 'missed' | 'skipped'
  why: string[]
}

export interface Explanation {
  user: string
  roles: string[]
  org?: string
  asset: string
  scope: string
  ticket?: string
  ttlSeconds: number
  at: string
  /** Local time at the asset, when the inventory gives it a time zone. */
  localTime?: string
  decision: Decision
  /** Refusals that hold whatever rule matches. */
  guards: string[]
  /** Rules about this person or this asset, in file order. */
  rules: RuleVerdict[]
  /** Rules about neither, not listed. */
  unrelated: number
  /** Allowed on a Modbus/TCP asset (or by a rule with `modbus:`): what the session may send beyond reading. */
  modbus?: ModbusGrant
}

export function explain(policy: Policy, input: DecisionInput): Explanation {
  const at = input.at ?? Date.now()
  const withTime = { ...input, at }
  const decision = evaluate(policy, withTime)
  const rules: RuleVerdict[] = []
  let matched: string | undefined
  let unrelated = 0
  for (const rule of policy.rules) {
    if (!whoMatches(rule, input.user) && !assetMatches(rule, input.asset)) {
      unrelated++
      continue
    }
    const why = ruleMisses(policy, rule, withTime)
    if (why.length > 0) rules.push({ rule: rule.name, line: rule.line, verdict: 'missed', why })
    else if (matched) rules.push({ rule: rule.name, line: rule.line, verdict: 'skipped', why: [`rule ${matched} comes first`] })
    else {
      matched = rule.name
      const holder = heldBy(rule, withTime)
      rules.push({ rule: rule.name, line: rule.line, verdict: 'matched', why: holder ? [heldReason(withTime, holder)] : [] })
    }
  }
  if (matched !== decision.rule) {
    // The index and the scan disagree: a bug in the index; fail loudly rather than mislead.
    throw new Error(`policy index disagrees with a full scan (${decision.rule ?? 'none'} vs ${matched ?? 'none'})`)
  }
  const zone = input.facts?.timeZone
  const rule = policy.rules.find((r) => r.name === decision.rule)
  const modbus = decision.allow && (input.facts?.protocol === 'modbus-tcp' || rule?.modbus) ? modbusGrant(rule, input.scope) : undefined
  return {
    user: input.user.name,
    roles: input.user.roles,
    org: input.user.org,
    asset: input.asset,
    scope: input.scope,
    ticket: input.ticket,
    ttlSeconds: input.ttlSeconds,
    at: new Date(at).toISOString(),
    localTime: zone ? describeLocal(at, zone) : undefined,
    decision,
    guards: guardReasons(policy, withTime),
    rules,
    unrelated,
    ...(modbus ? { modbus } : {}),
  }
}
