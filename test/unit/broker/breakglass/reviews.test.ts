// Review due times and overdue flagging, on the broker's own functions and a real SQLite store,
// with the clock moved instead of waited for.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openBreakGlass } from '../../../../src/broker/breakglass/grant.js'
import { fileReview, flagOverdueReviews, listReviews, requiredReviews } from '../../../../src/broker/breakglass/reviews.js'
import type { Actor, BrokerContext } from '../../../../src/broker/context.js'
import { revokeSession, sweepExpired } from '../../../../src/broker/sessions.js'
import { testContext, type TestContext } from '../test-context.js'

const POLICY = `
version: 1
rules: []
break_glass:
  who: { roles: [technician] }
  assets: ['plant-a/**']
  scopes: [control]
  max_ttl: 10m
  notify: ['role:security']
  review_due: 1h
`
const ANSWERS = { whatWasDone: 'a', whyNotNormalPath: 'b', changesToAsset: 'c', rollbackNeeded: false }

let t: TestContext
let ctx: BrokerContext
let tess: Actor
let sec: Actor

beforeEach(async () => {
  t = await testContext(POLICY, Date.parse('2026-11-23T03:00:00Z'))
  ctx = t.ctx
  tess = await t.actor('tess', ['technician'])
  sec = await t.actor('sol', ['security'])
  await t.ctx.store.assets.upsert({ path: 'plant-a/line-3/plc-07', attributes: {} })
})

afterEach(() => t.close())

describe('reviews', () => {
  it('a session that expires on its own makes the review due; it is overdue after review_due, flagged once', async () => {
    const opened = await openBreakGlass(ctx, tess, { asset: 'plant-a/line-3/plc-07', reason: 'line down' })
    expect(opened.review.state).toBe('awaiting-end')
    // What the gate (src/broker/gate.ts) reads: the reviews that must be filed first.
    expect(await requiredReviews(ctx, 'tess')).toEqual([])

    t.clock.now += 10 * 60_000 // TTL passes; no sweeper needed for the gate
    expect((await requiredReviews(ctx, 'tess')).map((r) => r.id)).toEqual([opened.review.id])
    await expect(openBreakGlass(ctx, tess, { asset: 'plant-a/line-3/plc-07', reason: 'again' })).rejects.toThrow(/review/)
    await sweepExpired(ctx)

    t.clock.now += 60 * 60_000 - 1000
    expect(await flagOverdueReviews(ctx)).toBe(0)
    t.clock.now += 2000
    // Two flaggers at the same moment (two brokers in the instant a duty changes hands): flagged once.
    expect(await Promise.all([flagOverdueReviews(ctx), flagOverdueReviews(ctx)])).toEqual([1, 0])
    expect(await flagOverdueReviews(ctx)).toBe(0)
    expect((await listReviews(ctx, sec, { overdue: true })).map((r) => r.id)).toEqual([opened.review.id])
    const overdueEvents = (await t.ctx.store.auditLog.events({ sessionId: opened.grant.session.id })).filter((e) => e.type === 'review.overdue')
    expect(overdueEvents).toHaveLength(1)
    expect(overdueEvents[0].severity).toBe('high')

    await fileReview(ctx, tess, opened.review.id, ANSWERS)
    expect(await listReviews(ctx, sec, { overdue: true })).toEqual([])
    expect(await requiredReviews(ctx, 'tess')).toEqual([])
  })

  it('a session revoked early brings its review\'s due time forward to review_due after the end', async () => {
    const opened = await openBreakGlass(ctx, tess, { asset: 'plant-a/line-3/plc-07', reason: 'line down' })
    expect(Date.parse(opened.review.dueAt)).toBe(t.clock.now + 10 * 60_000 + 60 * 60_000)
    t.clock.now += 2 * 60_000
    await revokeSession(ctx, tess, opened.grant.session.id, 'fixed it')
    const [due] = await listReviews(ctx, tess, {})
    expect(Date.parse(due.dueAt)).toBe(t.clock.now + 60 * 60_000)
    t.clock.now += 60 * 60_000 + 1000
    expect(await flagOverdueReviews(ctx)).toBe(1)
  })

  it('a review cannot be filed while its session is still open', async () => {
    const opened = await openBreakGlass(ctx, tess, { asset: 'plant-a/line-3/plc-07', reason: 'line down' })
    await expect(fileReview(ctx, tess, opened.review.id, ANSWERS)).rejects.toThrow(/still open/)
    await revokeSession(ctx, tess, opened.grant.session.id, 'done')
    expect((await fileReview(ctx, tess, opened.review.id, ANSWERS)).state).toBe('filed')
  })

  it('only the person who used break-glass files its review', async () => {
    const opened = await openBreakGlass(ctx, tess, { asset: 'plant-a/line-3/plc-07', reason: 'line down' })
    await revokeSession(ctx, tess, opened.grant.session.id, 'done')
    await expect(fileReview(ctx, sec, opened.review.id, ANSWERS)).rejects.toThrow(/Only the person/)
  })
})
