// A session opening gathers its facts once and evaluates the policy once (src/broker/gate.ts):
// the policy's two entry points are watched (the module's own functions, called through), and
// the store's reads of user, device, asset, holders and reviews are counted, on a real SQLite
// store, for a request, a break-glass opening and a drill.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as policy from '../../../src/policy/evaluate.js'
import { openBreakGlass } from '../../../src/broker/breakglass/grant.js'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { sessionGate } from '../../../src/broker/gate.js'
import { createRequest } from '../../../src/broker/requests.js'
import { testContext, type TestContext } from './test-context.js'

vi.mock('../../../src/policy/evaluate.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/policy/evaluate.js')>()
  return { ...actual, evaluate: vi.fn(actual.evaluate), evaluateBreakGlass: vi.fn(actual.evaluateBreakGlass) }
})

const POLICY = `
version: 1
rules:
  - { name: diagnose, who: { roles: [technician] }, assets: ['plant-a/**'], scopes: [diagnose], max_ttl: 2h }
  - { name: control, who: { roles: [technician] }, assets: ['plant-a/**'], scopes: [control], max_ttl: 1h, exclusive: true }
break_glass:
  who: { roles: [technician] }
  assets: ['plant-a/**']
  scopes: [control, diagnose]
  max_ttl: 15m
  notify: ['role:security']
  review_due: 24h
`
const PLC = 'plant-a/line-3/plc-07'
/** The reads of the facts, by repository: users.get, devices.get, assets.get, sessions.list. */
const FACT_READS: Record<string, string> = { users: 'get', devices: 'get', assets: 'get', sessions: 'list' }

let t: TestContext
let ctx: BrokerContext
let tess: Actor

beforeEach(async () => {
  t = await testContext(POLICY, Date.parse('2026-11-23T03:00:00Z'))
  ctx = t.ctx
  tess = await t.actor('tess', ['technician'])
  await ctx.store.assets.upsert({ path: PLC, attributes: {} })
  vi.mocked(policy.evaluate).mockClear()
  vi.mocked(policy.evaluateBreakGlass).mockClear()
})
afterEach(() => t.close())

/** Counts the calls of the named methods made through ctx.store and ctx.reviews from now on. */
function countReads(): Record<string, number> {
  const counts: Record<string, number> = {}
  const counted = <T extends object>(target: T, names: readonly string[], prefix: string): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object) as unknown
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          if (names.includes(String(property))) counts[`${prefix}${String(property)}`] = (counts[`${prefix}${String(property)}`] ?? 0) + 1
          return (value as (...a: unknown[]) => unknown).apply(object, args)
        }
      },
    })
  const store = ctx.store
  const repositories = new Proxy(store, {
    get(object, property) {
      const value = Reflect.get(object, property, object) as unknown
      const read = FACT_READS[String(property)]
      return read ? counted(value as object, [read], `${String(property)}.`) : typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value
    },
  })
  Object.assign(ctx, { store: repositories, reviews: counted(ctx.reviews, ['list'], 'reviews.') })
  return counts
}

describe('a session opening', () => {
  it('reads each fact once in the gate: user, device, asset, holders, reviews', async () => {
    const counts = countReads()
    const asked = { asset: PLC, scope: 'control', ttlSeconds: 600, ticket: 'none' }
    for (const kind of ['standard', 'break-glass'] as const) {
      for (const key of Object.keys(counts)) delete counts[key]
      await ctx.store.transaction(() => sessionGate(ctx, { path: kind === 'standard' ? 'request' : 'break-glass', kind, user: 'tess', deviceId: tess.deviceId, asked }))
      expect(counts, kind).toEqual({ 'users.get': 1, 'devices.get': 1, 'assets.get': 1, 'sessions.list': 1, 'reviews.list': 1 })
    }
  })

  it('evaluates the policy once: a request its rules, break-glass and a drill the break-glass section', async () => {
    await createRequest(ctx, tess, { ticket: 'WO-1', asset: PLC, scope: 'diagnose', ttlSeconds: 600, reason: 'fault' })
    expect([vi.mocked(policy.evaluate).mock.calls.length, vi.mocked(policy.evaluateBreakGlass).mock.calls.length]).toEqual([1, 0])

    vi.mocked(policy.evaluate).mockClear()
    const opened = await openBreakGlass(ctx, tess, { asset: PLC, scope: 'control', reason: 'line down' })
    expect(opened.grant.session.kind).toBe('break-glass')
    expect([vi.mocked(policy.evaluate).mock.calls.length, vi.mocked(policy.evaluateBreakGlass).mock.calls.length]).toEqual([0, 1])

    // Refused: tess now holds control, an exclusive scope, and a drill by tom meets her hold. Still one evaluation.
    const tom = await t.actor('tom', ['technician'])
    vi.mocked(policy.evaluateBreakGlass).mockClear()
    await expect(openBreakGlass(ctx, tom, { asset: PLC, scope: 'control', reason: 'rehearsal', drill: true })).rejects.toThrow(/The drill cannot open a session here now/)
    expect(vi.mocked(policy.evaluateBreakGlass).mock.calls.length).toBe(1)
  })
})
