// The one gate every session opens through (src/broker/gate.ts): each path (request, last
// approval, break-glass, drill, renewal) refused by each check (review due, exclusive scope,
// disabled user, revoked device, policy), on a real SQLite store with a clock the test moves.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../../src/broker/api-error.js'
import { openBreakGlass } from '../../../src/broker/breakglass/grant.js'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { renewSession } from '../../../src/broker/renewal.js'
import { approveRequest, createRequest } from '../../../src/broker/requests.js'
import { revokeSession } from '../../../src/broker/sessions.js'
import { testContext, type TestContext } from './test-context.js'

const POLICY = `
version: 1
rules:
  - name: diagnose
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [read, diagnose]
    max_ttl: 2h
  - name: control
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [control]
    max_ttl: 1h
    exclusive: true
    approval: { count: 1, from_roles: [shift-lead] }
break_glass:
  who: { roles: [technician] }
  assets: ['plant-a/**']
  scopes: [control, diagnose]
  max_ttl: 15m
  notify: ['role:security']
  review_due: 24h
`
const PLC = 'plant-a/line-3/plc-07'
const OTHER = 'plant-a/line-4/plc-01'

let t: TestContext
let ctx: BrokerContext
let tess: Actor
let tom: Actor
let lead: Actor

beforeEach(async () => {
  t = await testContext(POLICY, Date.parse('2026-11-23T03:00:00Z'))
  ctx = t.ctx
  tess = await t.actor('tess', ['technician'])
  tom = await t.actor('tom', ['technician'])
  lead = await t.actor('lee', ['shift-lead'])
  await t.ctx.store.assets.upsert({ path: PLC, attributes: {} })
  await t.ctx.store.assets.upsert({ path: OTHER, attributes: {} })
})
afterEach(() => t.close())

const ask = (scope: string, ttlSeconds = 1800) => ({ ticket: 'WO-1', asset: PLC, scope, ttlSeconds, reason: 'fault on line 3' })

/** Each path: what it needs before the condition is set, and the act that would open or extend a session. */
const PATHS: Record<string, { before: () => Promise<string | undefined>; act: (state: string | undefined) => Promise<unknown> }> = {
  request: { before: async () => undefined, act: async () => await createRequest(ctx, tess, ask('diagnose')) },
  approval: { before: async () => (await createRequest(ctx, tess, ask('control'))).result.request.id, act: async (id) => await approveRequest(ctx, lead, id!, undefined) },
  'break-glass': { before: async () => undefined, act: async () => await openBreakGlass(ctx, tess, { asset: PLC, scope: 'diagnose', reason: 'line down' }) },
  drill: { before: async () => undefined, act: async () => await openBreakGlass(ctx, tess, { asset: PLC, scope: 'diagnose', reason: 'rehearsal', drill: true }) },
  renewal: { before: async () => (await createRequest(ctx, tess, ask('diagnose', 600))).result.grant!.session.id, act: async (id) => await renewSession(ctx, tess, id!, 1800) },
}

/** tess's sessions as they stand: nothing may open, nothing may be extended. */
const tessSessions = async () => (await t.ctx.store.sessions.list({ user: 'tess' }, ctx.now() / 1000)).map((s) => `${s.id}:${s.state}:${s.expiresAtEpoch}`).sort()

async function refusedBy(path: string, condition: () => unknown, expected: { status: number; code: string; text: RegExp }): Promise<void> {
  const state = await PATHS[path].before()
  await condition()
  const before = await tessSessions()
  let error: unknown
  try {
    await PATHS[path].act(state)
  } catch (caught) {
    error = caught
  }
  expect(error, `${path} must be refused`).toBeInstanceOf(ApiError)
  const apiError = error as ApiError
  expect({ status: apiError.status, code: apiError.code }).toEqual({ status: expected.status, code: expected.code })
  expect(`${apiError.message} ${(apiError.extra.reasons ?? []).join(' ')}`).toMatch(expected.text)
  expect(await tessSessions()).toEqual(before)
}

/** The refusal's message and reasons, as the caller gets them. */
async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (error) {
    if (error instanceof ApiError) return `${error.message} ${(error.extra.reasons ?? []).join(' ')}`
    throw error
  }
  throw new Error('expected a refusal')
}

async function makeReviewDue(): Promise<void> {
  const opened = await openBreakGlass(ctx, tess, { asset: OTHER, scope: 'diagnose', reason: 'line 4 down' })
  await revokeSession(ctx, tess, opened.grant.session.id, 'fixed')
}

describe('the session gate', () => {
  for (const path of Object.keys(PATHS)) {
    it(`${path}: refused while the user's review is due`, async () => {
      const approval = path === 'approval'
      await refusedBy(path, makeReviewDue, { status: 403, code: approval ? 'policy-denied' : 'review-required', text: /review/ })
    })
    it(`${path}: refused for a disabled user`, async () => {
      await refusedBy(path, () => t.ctx.store.users.upsert({ name: 'tess', roles: ['technician'], disabled: true }), { status: 403, code: 'policy-denied', text: /tess is disabled/ })
    })
    it(`${path}: refused for a revoked device`, async () => {
      await refusedBy(path, () => t.ctx.store.devices.revoke(tess.deviceId), { status: 403, code: 'policy-denied', text: /was revoked/ })
    })
  }

  it('approval: a request filed before a break-glass session and approved after it opens nothing while the review is due; approved once it is filed', async () => {
    const { fileReview, requiredReviews } = await import('../../../src/broker/breakglass/reviews.js')
    const id = (await createRequest(ctx, tess, ask('control'))).result.request.id
    await makeReviewDue()
    expect(await refusal(async () => await approveRequest(ctx, lead, id, undefined))).toMatch(/review of tess's break-glass session .* is due/)
    expect((await t.ctx.store.requests.get(id))!.state).toBe('pending')
    const decisions = (await t.ctx.store.auditLog.events({ requestId: id })).filter((e) => e.type === 'policy.decision' && e.data.stage === 'approval')
    expect(decisions).toEqual([expect.objectContaining({ data: expect.objectContaining({ allow: false, gate: 'policy-denied', reasons: [expect.stringMatching(/review of tess's break-glass session/)] }) })])
    const [due] = await requiredReviews(ctx, 'tess')
    await fileReview(ctx, tess, due.id, { whatWasDone: 'a', whyNotNormalPath: 'b', changesToAsset: 'c', rollbackNeeded: false })
    expect((await approveRequest(ctx, lead, id, undefined)).request.state).toBe('approved')
  })

  describe('exclusive scopes', () => {
    async function tomHoldsControl(): Promise<string> {
      const id = (await createRequest(ctx, tom, ask('control'))).result.request.id
      await approveRequest(ctx, lead, id, undefined)
      return (await t.ctx.store.requests.get(id))!.sessionId!
    }
    const held = { status: 403, code: 'policy-denied', text: /control on plant-a\/line-3\/plc-07 is exclusive and held by tom/ }

    it('request: refused while another user holds control', async () => {
      await tomHoldsControl()
      expect(await refusal(async () => await createRequest(ctx, tess, ask('control')))).toMatch(held.text)
    })
    it('approval: the last approval decides again and is refused', async () => {
      await refusedBy('approval', tomHoldsControl, held)
    })
    for (const drill of [false, true]) {
      it(`${drill ? 'drill' : 'break-glass'}: does not open a second control session`, async () => {
        const tomSession = await tomHoldsControl()
        expect(await refusal(async () => await openBreakGlass(ctx, tess, { asset: PLC, scope: 'control', reason: 'line down', drill }))).toMatch(held.text)
        expect((await t.ctx.store.sessions.list({ asset: PLC, activeOnly: true }, ctx.now() / 1000)).map((s) => s.id)).toEqual([tomSession])
        const refused = (await t.ctx.store.auditLog.events({ actor: 'tess' })).filter((e) => e.type === `${drill ? 'drill' : 'break-glass'}.refused`)
        expect(refused).toHaveLength(1)
        // A scope nobody holds exclusively still opens at once.
        expect((await openBreakGlass(ctx, tess, { asset: PLC, scope: 'diagnose', reason: 'line down', drill })).grant.session.scope).toBe('diagnose')
      })
    }
    it('two openings at once: the checks and the writes of one are not interleaved with the other, so only one holds control', async () => {
      const control = (who: Actor) => openBreakGlass(ctx, who, { asset: PLC, scope: 'control', reason: 'line down' })
      const results = await Promise.allSettled([control(tess), control(tom), control(tess)])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/cannot open a session here now/)
      expect((await t.ctx.store.sessions.list({ asset: PLC, activeOnly: true }, ctx.now() / 1000)).filter((s) => s.scope === 'control')).toHaveLength(1)
    })
    it('renewal: a session renewing does not block itself', async () => {
      const session = await tomHoldsControl()
      expect((await renewSession(ctx, tom, session, 1800)).session.id).toBe(session)
    })
  })

  describe('policy', () => {
    it('request: a scope no rule gives is denied', async () => {
      expect(await refusal(async () => await createRequest(ctx, tess, ask('firmware')))).toMatch(/deny by default/)
    })
    it('renewal: past the rule\'s max TTL is refused', async () => {
      const id = (await PATHS.renewal.before())!
      await expect(renewSession(ctx, tess, id, 3 * 3600 - 60)).rejects.toThrow(/renewing/)
    })
    it('break-glass: who the section does not name is refused', async () => {
      expect(await refusal(async () => await openBreakGlass(ctx, lead, { asset: PLC, reason: 'line down' }))).toMatch(/not for lee/)
    })
  })
})
