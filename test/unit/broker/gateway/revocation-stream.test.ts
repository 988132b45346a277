// The revocation stream at the broker: every session end, whatever the path, becomes one numbered
// row in the same transaction; a follower asking from a number gets exactly what came after it;
// an end that rolls back is never on the stream; a waiting follower wakes at once.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Actor, BrokerContext } from '../../../../src/broker/context.js'
import { deregisterDevice } from '../../../../src/broker/deregistration.js'
import { endsAfter, streamHead, waitForEnds } from '../../../../src/broker/gateway/revocation-stream.js'
import { reapSilentSessions, recordHeartbeat } from '../../../../src/broker/heartbeat.js'
import { createRequest } from '../../../../src/broker/requests.js'
import { endSessionRecorded, revokeSession, sweepExpired } from '../../../../src/broker/sessions.js'
import { testContext, type TestContext } from '../test-context.js'

const POLICY = readFileSync(resolve(import.meta.dirname, '../../../fixtures/policy.yaml'), 'utf8')
const PLC = 'plant-a/line-3/cell-2/plc-07'
let t: TestContext
let ctx: BrokerContext
let alice: Actor
let now: number

beforeEach(async () => {
  now = Date.parse('2026-06-01T08:00:00Z')
  t = await testContext(POLICY, now, { heartbeat: { graceSeconds: 30, monotonicMs: () => now } })
  ctx = t.ctx
  ctx.now = () => now
  alice = await t.actor('alice', ['technician'])
  await t.ctx.store.assets.upsert({ path: PLC, attributes: {} })
})
afterEach(() => t.close())

async function open(ttlSeconds = 1200): Promise<string> {
  return (await createRequest(ctx, alice, { ticket: 'WO-104233', asset: PLC, scope: 'diagnose', ttlSeconds, reason: 'r' })).result.grant!.session.id
}

describe('the revocation stream', () => {
  it('numbers every end, for every cause, and a follower gets exactly what came after its number', async () => {
    const revoked = await open()
    const expired = await open(60)
    const silent = await open()
    const loggedOut = await open()
    expect(await streamHead(ctx.store)).toBe(0)
    await revokeSession(ctx, alice, revoked, 'done')
    now += 61_000
    await sweepExpired(ctx)
    await recordHeartbeat(ctx, alice, silent)
    now += 31_000
    await reapSilentSessions(ctx)
    await deregisterDevice(ctx, alice)
    const all = await endsAfter(ctx.store, 0)
    expect(all.map((e) => [e.sessionId, e.cause, e.asset])).toEqual([
      [revoked, 'revoked', PLC],
      [expired, 'expired', PLC],
      [silent, 'heartbeat-lost', PLC],
      [loggedOut, 'logout', PLC],
    ])
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect((await endsAfter(ctx.store, 2)).map((e) => e.sessionId)).toEqual([silent, loggedOut])
    expect(await streamHead(ctx.store)).toBe(4)
  })

  it('an end that rolls back with its transaction never reaches the stream; ending twice records once', async () => {
    const id = await open()
    const session = (await t.ctx.store.sessions.get(id))!
    await expect(ctx.store.transaction(async () => {
      await endSessionRecorded(ctx, session, { state: 'revoked', by: 'alice', reason: 'r' })
      throw new Error('later step failed')
    })).rejects.toThrow('later step failed')
    expect(await endsAfter(ctx.store, 0)).toEqual([])
    await ctx.store.transaction(() => endSessionRecorded(ctx, session, { state: 'revoked', by: 'alice', reason: 'r', data: { cause: 'ticket-closed' } }))
    await ctx.store.transaction(() => endSessionRecorded(ctx, session, { state: 'revoked', by: 'alice', reason: 'again' }))
    expect((await endsAfter(ctx.store, 0)).map((e) => e.cause)).toEqual(['ticket-closed'])
  })

  it('a waiting follower wakes as soon as an end is committed, not at its timeout', async () => {
    const id = await open()
    const gone = new AbortController()
    const started = performance.now()
    const waiting = waitForEnds(ctx, await streamHead(ctx.store), 10_000, gone.signal)
    setTimeout(() => void revokeSession(ctx, alice, id, 'now'), 20)
    const batch = await waiting
    expect(batch.ends.map((e) => e.sessionId)).toEqual([id])
    expect(performance.now() - started).toBeLessThan(5000)
  })
})
