// One table per rule feature: who, assets (patterns and attributes), scopes, TTL, tickets,
// conditions, approval, cache, exclusive scopes, vendor contracts, deny by default, rule order.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../../src/policy/evaluate.js'
import { explain } from '../../../src/policy/explain.js'
import { factsOf, loadInventoryFile } from '../../../src/policy/inventory.js'
import { loadPolicyFile, parsePolicy } from '../../../src/policy/load.js'
import type { AssetFacts, Decision, DecisionInput, Holder, Subject } from '../../../src/policy/types.js'

const PLANT = join(import.meta.dirname, '../../fixtures/plant')
const policy = loadPolicyFile(join(PLANT, 'policy.yaml'))
const inventory = new Map(loadInventoryFile(join(PLANT, 'inventory.yaml')).map((a) => [a.path, factsOf(a.path, a.attributes)]))

const PLC = 'plant-a/line-3/cell-2/plc-07'
const ROBOT = 'plant-a/line-3/cell-4/robot-11'
const HMI = 'plant-a/line-3/cell-2/hmi-02'
const TUESDAY = '2026-03-24T14:00:00+01:00'
const SATURDAY_WINDOW = '2026-03-28T03:00:00+01:00'

const users: Record<string, Subject> = {
  alice: { name: 'alice', roles: ['technician'] },
  bob: { name: 'bob', roles: ['shift-lead'] },
  nora: { name: 'nora', roles: ['operator'] },
  vic: { name: 'vic', roles: ['vendor'], org: 'acme-automation' },
  kai: { name: 'kai', roles: ['vendor'], org: 'kuka-service' },
  nobody: { name: 'vera', roles: ['vendor'] },
}

interface Case {
  name: string
  user: keyof typeof users
  asset?: string
  scope: string
  ttl?: number
  ticket?: string | null
  at?: string
  state?: AssetFacts['state']
  safetyCritical?: boolean
  holders?: Holder[]
  want: Partial<Decision> & { reasons?: string[] }
}

function decide(c: Case): Decision {
  const asset = c.asset ?? PLC
  const known = inventory.get(asset)
  const input: DecisionInput = {
    user: users[c.user],
    asset,
    scope: c.scope,
    ttlSeconds: c.ttl ?? 1800,
    ticket: c.ticket === null ? undefined : (c.ticket ?? 'WO-104233'),
    facts: known && { ...known, ...(c.state ? { state: c.state } : {}), ...(c.safetyCritical !== undefined ? { safetyCritical: c.safetyCritical } : {}) },
    at: Date.parse(c.at ?? TUESDAY),
    holders: c.holders,
  }
  return evaluate(policy, input)
}

function check(c: Case): void {
  const decision = decide(c)
  const { reasons, ...fields } = c.want
  if ('rule' in fields && fields.rule === undefined) {
    expect(decision.rule).toBeUndefined()
    delete fields.rule
  }
  expect(decision).toMatchObject(fields)
  if (reasons) for (const reason of reasons) expect(decision.reasons).toContain(reason)
  if (!decision.allow) expect(decision.reasons.length).toBeGreaterThan(0)
}

const table = (title: string, cases: Case[]) => describe(title, () => it.each(cases)('$name', check))

table('who', [
  { name: 'a role named by the rule', user: 'alice', scope: 'diagnose', want: { allow: true, rule: 'diagnose' } },
  { name: 'a user named by the rule', user: 'nora', scope: 'read', ticket: null, at: '2026-03-24T23:00:00+01:00', want: { allow: true, rule: 'night-watch' } },
  { name: 'a vendor organisation named by the rule', user: 'vic', scope: 'diagnose', want: { allow: true, rule: 'vendor-diagnose' } },
  {
    name: 'someone no rule names',
    user: 'bob',
    scope: 'read',
    want: { allow: false, rule: undefined, reasons: [`no rule lets bob have read on ${PLC} (deny by default)`] },
  },
])

table('assets: patterns and attributes', [
  { name: 'a subtree pattern covers a deep asset', user: 'alice', asset: ROBOT, scope: 'read', want: { allow: true, rule: 'diagnose' } },
  { name: 'a segment glob (hmi-*) covers the HMI', user: 'alice', asset: HMI, scope: 'configure', want: { allow: true, rule: 'hmi-day-shift' } },
  { name: 'the glob does not cover the PLC', user: 'alice', scope: 'configure', want: { allow: false, reasons: [`no rule lets alice have configure on ${PLC} (deny by default)`] } },
  {
    name: 'an attribute the rule excludes (a safety-critical HMI)',
    user: 'alice',
    asset: HMI,
    safetyCritical: true,
    scope: 'configure',
    want: { allow: false, reasons: [`rule hmi-day-shift is not for safety-critical assets; ${HMI} is one`] },
  },
  {
    name: 'an asset outside every pattern',
    user: 'alice',
    asset: 'plant-b/line-1/cell-1/plc-01',
    scope: 'read',
    want: { allow: false, reasons: ['plant-b/line-1/cell-1/plc-01 is not in the asset inventory'] },
  },
])

table('scopes and TTL', [
  { name: 'a scope the rule lists', user: 'alice', scope: 'read', want: { allow: true, maxTtlSeconds: 7200 } },
  { name: 'a scope no rule lists for the user', user: 'alice', scope: 'flash', want: { allow: false, reasons: ['rule diagnose allows read, diagnose, not flash'] } },
  { name: 'exactly the cap', user: 'alice', scope: 'diagnose', ttl: 7200, want: { allow: true } },
  { name: 'one second over the cap', user: 'alice', scope: 'diagnose', ttl: 7201, want: { allow: false, reasons: ['rule diagnose allows at most 2h; 2h1s was asked'] } },
  { name: 'well over the cap', user: 'alice', scope: 'diagnose', ttl: 3 * 3600, want: { allow: false, reasons: ['rule diagnose allows at most 2h; 3h was asked'] } },
])

table('tickets', [
  { name: 'a work order where the rule wants one', user: 'alice', scope: 'control', at: SATURDAY_WINDOW, want: { allow: true, rule: 'control-in-window' } },
  {
    name: 'a change ticket where the rule wants a work order',
    user: 'alice',
    scope: 'control',
    ticket: 'CHG1234567',
    at: SATURDAY_WINDOW,
    want: { allow: false, reasons: ['rule control-in-window needs a workorder ticket; CHG1234567 is a change ticket'] },
  },
  { name: 'no ticket where the rule needs one', user: 'alice', scope: 'read', ticket: null, want: { allow: false, reasons: ['rule diagnose needs a ticket'] } },
  { name: 'no ticket where the rule does not need one', user: 'nora', scope: 'read', ticket: null, at: '2026-03-25T03:00:00+01:00', want: { allow: true } },
  { name: 'a ticket of no known format', user: 'alice', scope: 'read', ticket: 'fix-it', want: { allow: false, reasons: ['ticket fix-it fits no known ticket format (workorder, change)'] } },
])

table('conditions: asset state, maintenance window, time of day', [
  {
    name: 'control outside the window, line running',
    user: 'alice',
    scope: 'control',
    want: {
      allow: false,
      reasons: [
        `rule control-in-window allows this only in the maintenance window of ${PLC} (Sat 02:00–06:00 Europe/Berlin); it is Tue 14:00 there`,
        `rule control-line-stopped needs ${PLC} to be stopped or maintenance; it is running`,
      ],
    },
  },
  { name: 'control inside the window', user: 'alice', scope: 'control', at: SATURDAY_WINDOW, want: { allow: true, rule: 'control-in-window' } },
  { name: 'control outside the window on a stopped line', user: 'alice', scope: 'control', state: 'stopped', want: { allow: true, rule: 'control-line-stopped' } },
  { name: 'control outside the window in maintenance state', user: 'alice', scope: 'control', state: 'maintenance', want: { allow: true, rule: 'control-line-stopped' } },
  { name: 'control outside the window on an offline asset', user: 'alice', scope: 'control', state: 'offline', want: { allow: false } },
  { name: 'a window across midnight, after midnight', user: 'alice', asset: ROBOT, scope: 'control', at: '2026-03-28T01:00:00+01:00', want: { allow: true, rule: 'control-in-window' } },
  { name: 'a window across midnight, after it closed', user: 'alice', asset: ROBOT, scope: 'control', at: '2026-03-28T02:00:00+01:00', want: { allow: false } },
  {
    name: 'an asset without a window',
    user: 'alice',
    asset: HMI,
    scope: 'control',
    want: { allow: false, reasons: [`rule control-in-window allows this only in a maintenance window, and ${HMI} has none`] },
  },
  { name: 'the DST night: 01:00Z is 03:00 CEST, inside Sun 01:00–04:00', user: 'alice', asset: 'plant-a/line-1/cell-1/plc-01', scope: 'control', at: '2026-03-29T01:00:00Z', want: { allow: true } },
  { name: 'the DST night: 02:00Z is 04:00 CEST, outside', user: 'alice', asset: 'plant-a/line-1/cell-1/plc-01', scope: 'control', at: '2026-03-29T02:00:00Z', want: { allow: false } },
  {
    name: "an asset's own time zone: 01:30 in Chicago is 07:30Z",
    user: 'alice',
    asset: 'plant-a/utilities/compressor-1',
    scope: 'control',
    at: '2026-03-22T07:30:00Z',
    want: { allow: true, rule: 'control-in-window', approverRoles: ['facilities'] },
  },
  { name: "…while 01:30 in Berlin is outside the compressor's window", user: 'alice', asset: 'plant-a/utilities/compressor-1', scope: 'control', at: '2026-03-22T00:30:00Z', want: { allow: false } },
  { name: 'day shift on a weekday', user: 'alice', asset: HMI, scope: 'configure', at: '2026-03-24T21:59:00+01:00', want: { allow: true } },
  {
    name: 'day shift ends at 22:00',
    user: 'alice',
    asset: HMI,
    scope: 'configure',
    at: '2026-03-24T22:00:00+01:00',
    want: { allow: false, reasons: ['rule hmi-day-shift allows this only Mon/Tue/Wed/Thu/Fri 06:00–22:00 Europe/Berlin; it is Tue 22:00 there'] },
  },
  { name: 'night watch across midnight, 05:59', user: 'nora', scope: 'read', ticket: null, at: '2026-03-25T05:59:00+01:00', want: { allow: true } },
  { name: 'night watch across midnight, 06:00', user: 'nora', scope: 'read', ticket: null, at: '2026-03-25T06:00:00+01:00', want: { allow: false } },
])

table('approval and cache', [
  { name: 'no approval', user: 'alice', scope: 'diagnose', want: { approvalsNeeded: 0, approverRoles: [], cacheAllowed: true } },
  { name: "one approval from the asset's owner group", user: 'alice', scope: 'control', at: SATURDAY_WINDOW, want: { approvalsNeeded: 1, approverRoles: ['line-3-leads'] } },
  { name: 'two approvals from a role or the owner group', user: 'alice', scope: 'control', state: 'stopped', want: { approvalsNeeded: 2, approverRoles: ['shift-lead', 'line-3-leads'] } },
  { name: 'vendors are never cached', user: 'vic', scope: 'diagnose', want: { allow: true, cacheAllowed: false, approvalsNeeded: 1, approverRoles: ['shift-lead'] } },
])

table('exclusive scopes', [
  {
    name: 'a second control session is refused, naming holder and until-when',
    user: 'alice',
    scope: 'control',
    at: SATURDAY_WINDOW,
    holders: [{ user: 'carl', scope: 'control', until: '2026-03-28T02:40:00.000Z', sessionId: 'ses_1' }],
    want: {
      allow: false,
      rule: 'control-in-window',
      exclusive: true,
      heldBy: { user: 'carl', scope: 'control', until: '2026-03-28T02:40:00.000Z', sessionId: 'ses_1' },
      reasons: [`control on ${PLC} is exclusive and held by carl until 2026-03-28T02:40:00Z`],
    },
  },
  {
    name: 'the requester holding it already is refused too',
    user: 'alice',
    scope: 'control',
    at: SATURDAY_WINDOW,
    holders: [{ user: 'alice', scope: 'control', until: '2026-03-28T02:40:00.000Z' }],
    want: { allow: false, reasons: [`control on ${PLC} is exclusive and held by alice until 2026-03-28T02:40:00Z`] },
  },
  { name: 'another scope held does not block control', user: 'alice', scope: 'control', at: SATURDAY_WINDOW, holders: [{ user: 'carl', scope: 'diagnose', until: '2026-03-28T02:40:00.000Z' }], want: { allow: true } },
  { name: 'diagnose is not exclusive', user: 'alice', scope: 'diagnose', holders: [{ user: 'carl', scope: 'diagnose', until: '2026-03-28T02:40:00.000Z' }], want: { allow: true } },
])

table('vendors only under contract', [
  { name: 'an asset whose contract names the vendor', user: 'vic', scope: 'diagnose', want: { allow: true } },
  {
    name: "another vendor's asset",
    user: 'vic',
    asset: ROBOT,
    scope: 'diagnose',
    want: { allow: false, rule: 'vendor-diagnose', reasons: [`acme-automation has no contract for ${ROBOT}; vendors only reach assets their contract names`] },
  },
  { name: 'an asset with no vendor contract at all', user: 'kai', asset: 'plant-a/line-1/cell-1/plc-01', scope: 'diagnose', want: { allow: false } },
  { name: 'a vendor account without an organisation', user: 'nobody', scope: 'diagnose', want: { allow: false, reasons: ['vera is a vendor account without an organisation, so no contract covers it'] } },
])

describe('a TTL over the cap', () => {
  it('is reported as over the cap, not as "no rule lets you" (deny by default)', () => {
    const decision = decide({ name: 'over', user: 'alice', scope: 'diagnose', ttl: 3 * 3600, want: { allow: false } })
    expect(decision.allow).toBe(false)
    expect(decision.reasons).toEqual([`3h is over the cap for diagnose on ${PLC}: ask for at most 2h`, 'rule diagnose allows at most 2h; 3h was asked'])
  })

  it('still says deny by default when something besides the TTL stands in the way', () => {
    const decision = decide({ name: 'no ticket', user: 'alice', scope: 'diagnose', ttl: 3 * 3600, ticket: null, want: { allow: false } })
    expect(decision.reasons[0]).toBe(`no rule lets alice have diagnose on ${PLC} (deny by default)`)
  })
})

describe('rule order and explain', () => {
  const ordered = parsePolicy(`version: 1
rules:
  - { name: narrow, who: { roles: [technician] }, assets: ['plant-a/line-3/cell-2/plc-07'], scopes: [read], max_ttl: 10m, cache: false }
  - { name: broad, who: { roles: [technician] }, assets: ['plant-a/**'], scopes: [read], max_ttl: 2h }
`)
  const facts = inventory.get(PLC)!
  it('the first matching rule in the file wins, even if a later one is more generous', () => {
    expect(evaluate(ordered, { user: users.alice, asset: PLC, scope: 'read', ttlSeconds: 300, ticket: 'WO-1', facts })).toMatchObject({ allow: true, rule: 'narrow', cacheAllowed: false })
    expect(evaluate(ordered, { user: users.alice, asset: PLC, scope: 'read', ttlSeconds: 3600, ticket: 'WO-1', facts })).toMatchObject({ allow: true, rule: 'broad', cacheAllowed: true })
  })

  it('explain names the matched rule, the ones after it, and why the others missed', () => {
    const result = explain(policy, { user: users.alice, asset: PLC, scope: 'control', ttlSeconds: 1800, ticket: 'WO-104233', facts, at: Date.parse(SATURDAY_WINDOW) })
    expect(result.decision).toMatchObject({ allow: true, rule: 'control-in-window' })
    expect(result.localTime).toBe('Sat 03:00 Europe/Berlin')
    expect(result.rules.map((r) => [r.rule, r.verdict])).toEqual([
      ['diagnose', 'missed'],
      ['control-in-window', 'matched'],
      ['control-line-stopped', 'missed'],
      ['hmi-day-shift', 'missed'],
      ['night-watch', 'missed'],
      ['vendor-diagnose', 'missed'],
      ['vendor-control', 'missed'],
    ])
    expect(result.rules[0].why).toEqual(['rule diagnose allows read, diagnose, not control'])
    expect(result.rules[0].line).toBe(11)
    expect(result.unrelated).toBe(0)
  })

  it('explain marks rules after the match as skipped', () => {
    const result = explain(ordered, { user: users.alice, asset: PLC, scope: 'read', ttlSeconds: 300, ticket: 'WO-1', facts, at: 0 })
    expect(result.rules).toEqual([
      { rule: 'narrow', line: 3, verdict: 'matched', why: [] },
      { rule: 'broad', line: 4, verdict: 'skipped', why: ['rule narrow comes first'] },
    ])
  })
})
