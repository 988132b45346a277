// Review due times and overdue flagging, on the broker's own functions and a real SQLite store,
// with the clock moved instead of waited for.
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openBreakGlass } from '../../../src/breakglass/grant.js'
import { Notifier } from '../../../src/breakglass/notifier.js'
import { assertNoReviewDue, fileReview, flagOverdueReviews, listReviews } from '../../../src/breakglass/reviews.js'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { revokeSession, sweepExpired } from '../../../src/broker/sessions.js'
import { loadOrCreateSigningKey } from '../../../src/broker/signing-key.js'
import { ReviewStore, Store } from '../../../src/broker/store.js'
import { parsePolicy } from '../../../src/policy/load.js'

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

let dir: string
let ctx: BrokerContext
let clock: number
let tess: Actor
let sec: Actor

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jit-unit-'))
  clock = Date.parse('2026-11-23T03:00:00Z')
  const store = new Store(dir)
  for (const [name, roles] of [['tess', ['technician']], ['sol', ['security']]] as const) {
    store.upsertUser({ name, roles: [...roles], disabled: false })
    store.addDevice({ id: `dev_${name}`, user: name, name: 'laptop', publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }, jkt: `jkt-${name}`, createdAt: '' })
  }
  store.upsertAsset({ path: 'plant-a/line-3/plc-07', attributes: {} })
  const reviews = new ReviewStore(store)
  ctx = { store, signingKey: await loadOrCreateSigningKey(dir), issuer: 'http://broker.test', policy: parsePolicy(POLICY), events: new EventEmitter(), now: () => clock, reviews, notifier: new Notifier(reviews, [], () => {}) }
  tess = { user: store.getUser('tess')!, deviceId: 'dev_tess' }
  sec = { user: store.getUser('sol')!, deviceId: 'dev_sol' }
})

afterEach(() => {
  ctx.store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('reviews', () => {
  it('a session that expires on its own makes the review due; it is overdue after review_due, flagged once', () => {
    const opened = openBreakGlass(ctx, tess, { asset: 'plant-a/line-3/plc-07', reason: 'line down' })
    expect(opened.review.state).toBe('awaiting-end')
    expect(() => assertNoReviewDue(ctx, tess)).not.toThrow()

    clock += 10 * 60_000 // TTL passes; no sweeper needed for the gate
    expect(() => assertNoReviewDue(ctx, tess)).toThrow(/review/)
    sweepExpired(ctx)

    clock += 60 * 60_000 - 1000
    expect(flagOverdueReviews(ctx)).toBe(0)
    clock += 2000
    expect(flagOverdueReviews(ctx)).toBe(1)
    expect(flagOverdueReviews(ctx)).toBe(0)
    expect(listReviews(ctx, sec, { overdue: true }).map((r) => r.id)).toEqual([opened.review.id])
    const overdueEvents = [...ctx.store.auditEvents({ sessionId: opened.grant.session.id })].filter((e) => e.type === 'review.overdue')
    expect(overdueEvents).toHaveLength(1)
    expect(overdueEvents[0].severity).toBe('high')

    fileReview(ctx, tess, opened.review.id, ANSWERS)
    expect(listReviews(ctx, sec, { overdue: true })).toEqual([])
    expect(() => assertNoReviewDue(ctx, tess)).not.toThrow()
  })

  it('a review cannot be filed while its session is still open', () => {
    const opened = openBreakGlass(ctx, tess, { asset: 'plant-a/line-3/plc-07', reason: 'line down' })
    expect(() => fileReview(ctx, tess, opened.review.id, ANSWERS)).toThrow(/still open/)
    revokeSession(ctx, tess, opened.grant.session.id, 'done')
    expect(fileReview(ctx, tess, opened.review.id, ANSWERS).state).toBe('filed')
  })

  it('only the person who used break-glass files its review', () => {
    const opened = openBreakGlass(ctx, tess, { asset: 'plant-a/line-3/plc-07', reason: 'line down' })
    revokeSession(ctx, tess, opened.grant.session.id, 'done')
    expect(() => fileReview(ctx, sec, opened.review.id, ANSWERS)).toThrow(/Only the person/)
  })
})
