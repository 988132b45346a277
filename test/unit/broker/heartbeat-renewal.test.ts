// The broker's dead-man's switch and renewal caps, on a real SQLite store with an injected clock.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DatabaseSync } from 'node:sqlite'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { openBreakGlass } from '../../../src/broker/breakglass/grant.js'
import { reapSilentSessions, recordHeartbeat, startHeartbeatWatch } from '../../../src/broker/heartbeat.js'
import { renewSession } from '../../../src/broker/renewal.js'
import { createRequest } from '../../../src/broker/requests.js'
import { SqliteAsyncStore } from '../../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../../src/broker/store/sqlite-store.js'
import { testContext, type TestContext } from './test-context.js'
import { ApiError } from '../../../src/broker/api-error.js'

const POLICY = readFileSync(resolve(import.meta.dirname, '../../fixtures/policy.yaml'), 'utf8')
let t: TestContext
let ctx: BrokerContext
let now: number
let alice: Actor

beforeEach(async () => {
  const start = Date.parse('2026-06-01T08:00:00Z')
  // The monotonic clock runs with the wall clock here, unless a test steps one of them.
  t = await testContext(POLICY, start, { heartbeat: { graceSeconds: 30, monotonicMs: () => now } })
  ctx = t.ctx
  ctx.now = () => now
  now = start
  startHeartbeatWatch(ctx)
  alice = await t.actor('alice', ['technician'])
  await t.ctx.store.assets.upsert({ path: 'plant-a/line-3/cell-2/plc-07', attributes: {} })
})
afterEach(() => t.close())

async function open(ttlSeconds = 1200): Promise<string> {
  const { result } = await createRequest(ctx, alice, { ticket: 'WO-104233', asset: 'plant-a/line-3/cell-2/plc-07', scope: 'diagnose', ttlSeconds, reason: 'r' })
  return result.grant!.session.id
}

describe('heartbeat dead-man\'s switch', () => {
  it('a session nobody beats for is never reaped; an armed one is, once silent past the grace', async () => {
    const quiet = await open()
    const watched = await open()
    expect(await recordHeartbeat(ctx, alice, watched)).toMatchObject({ state: 'active', graceSeconds: 30, intervalSeconds: 10 })
    now += 29_000
    expect(await reapSilentSessions(ctx)).toEqual([])
    now += 2_000
    expect(await reapSilentSessions(ctx)).toEqual([watched])
    expect((await t.ctx.store.sessions.get(watched, now / 1000))).toMatchObject({ state: 'revoked', endedBy: 'broker', endReason: `heartbeat lost: no heartbeat from device ${alice.deviceId} for 31s (grace 30s)` })
    expect((await t.ctx.store.sessions.get(quiet, now / 1000))!.state).toBe('active')
    expect(await recordHeartbeat(ctx, alice, watched)).toMatchObject({ state: 'revoked' })
  })

  it('beats keep it alive; a restarted broker counts silence only from its own start', async () => {
    const id = await open()
    await recordHeartbeat(ctx, alice, id)
    for (let i = 0; i < 10; i++) {
      now += 10_000
      await recordHeartbeat(ctx, alice, id)
      expect(await reapSilentSessions(ctx)).toEqual([])
    }
    // Down for ten minutes, then back: the CLI gets grace from the restart to reach it again.
    now += 600_000
    ctx.heartbeat = { graceSeconds: 30, monotonicMs: () => now }
    startHeartbeatWatch(ctx)
    now += 25_000
    expect(await reapSilentSessions(ctx)).toEqual([])
    now += 6_000
    expect(await reapSilentSessions(ctx)).toEqual([id])
  })

  it('after a stall of the broker itself (twice the grace), every session gets a full grace; a dead one is reaped after it', async () => {
    const live = await open()
    const dead = await open()
    now += 31_000 // past the start-up grace
    for (const id of [live, dead]) await recordHeartbeat(ctx, alice, id)
    await reapSilentSessions(ctx)
    now += 60_000 // SIGSTOP: no sweep, no heartbeat read
    expect(await reapSilentSessions(ctx)).toEqual([])
    // The queued heartbeat of the live session is read after the first sweep; the dead one sends none.
    await recordHeartbeat(ctx, alice, live)
    for (let i = 0; i < 3; i++) {
      now += 10_000
      await recordHeartbeat(ctx, alice, live)
      expect(await reapSilentSessions(ctx)).toEqual([])
    }
    now += 1_000
    expect(await reapSilentSessions(ctx)).toEqual([dead])
    expect((await t.ctx.store.sessions.get(live, now / 1000))!.state).toBe('active')
  })

  it('a wall clock stepped forward or back changes nothing: silence is counted on the monotonic clock', async () => {
    let mono = 0
    ctx.heartbeat = { graceSeconds: 30, monotonicMs: () => mono }
    startHeartbeatWatch(ctx)
    const beating = await open()
    const silent = await open()
    await recordHeartbeat(ctx, alice, silent)
    const step = (ms: number, wallStep = 0) => {
      mono += ms
      now += ms + wallStep
    }
    for (let i = 0; i < 3; i++) {
      step(10_000, i === 1 ? 75_000 : 0) // +75 s step of the wall clock in the middle
      await recordHeartbeat(ctx, alice, beating)
      expect(await reapSilentSessions(ctx)).toEqual([])
    }
    step(1_000, -3_600_000) // and an hour back: the silent session is still reaped on time
    expect(await reapSilentSessions(ctx)).toEqual([silent])
    expect((await t.ctx.store.sessions.get(beating, now / 1000))!.state).toBe('active')
  })

  it('only the device holding the session may beat for it', async () => {
    const id = await open()
    await expect(recordHeartbeat(ctx, { ...alice, deviceId: 'dev_other' }, id)).rejects.toThrow(/Only the device/)
  })

  it('beats another broker heard (heartbeat_at changed in the table, whatever its clock) keep a session alive; when they stop, it is reaped after the grace', async () => {
    now += 31_000 // past the start-up grace
    await reapSilentSessions(ctx)
    const id = await open()
    // Another broker of the database, its wall clock an hour behind this one's, hears the beats.
    let otherWall = now - 3_600_000
    const beatElsewhere = async () => {
      otherWall += 10_000
      expect(await ctx.store.sessions.recordHeartbeat(id, otherWall)).toBe(true)
    }
    await beatElsewhere()
    for (let i = 0; i < 6; i++) {
      now += 10_000
      await beatElsewhere()
      expect(await reapSilentSessions(ctx)).toEqual([])
    }
    // The beats stop: seen last at this sweep, so silence counts from here.
    for (let i = 0; i < 3; i++) {
      now += 10_000
      expect(await reapSilentSessions(ctx)).toEqual([])
    }
    now += 1_000
    expect(await reapSilentSessions(ctx)).toEqual([id])
    expect((await t.ctx.store.sessions.get(id, now / 1000))).toMatchObject({ state: 'revoked', endReason: `heartbeat lost: no heartbeat from device ${alice.deviceId} for 31s (grace 30s)` })
  })
})

describe('renewal', () => {
  it('within the rule\'s cap for the whole session; past it, refused with reasons and nothing changed', async () => {
    const id = await open(1200)
    now += 600_000
    const grant = await renewSession(ctx, alice, id, 3600)
    expect(grant.expiresIn).toBe(3600)
    // line3-diagnose: 2h in all. 10 minutes in, 1h50m more is the most.
    await expect(renewSession(ctx, alice, id, 6601)).rejects.toThrow(ApiError)
    const refused = await (async () => {
      try {
        await renewSession(ctx, alice, id, 7200)
        return undefined
      } catch (error) {
        return error as ApiError
      }
    })()
    expect(refused?.code).toBe('policy-denied')
    expect(refused?.extra.reasons).toContain('rule line3-diagnose allows at most 2h; 2h10m was asked')
    expect((await renewSession(ctx, alice, id, 6600)).expiresIn).toBe(6600)
    expect((await t.ctx.store.auditLog.events({ sessionId: id })).filter((e) => e.type === 'session.renewed')).toHaveLength(2)
  })

  it('counts whole seconds from issue: in the same second, exactly the cap is allowed and one second more is not', async () => {
    const id = await open(1200)
    now += 400 // same second as the issue
    await expect(renewSession(ctx, alice, id, 7201)).rejects.toThrow(/Policy does not allow renewing/)
    await renewSession(ctx, alice, id, 7200)
    const renewed = (await t.ctx.store.sessions.get(id, now / 1000))!
    expect(renewed.expiresAtEpoch - renewed.issuedAtEpoch).toBe(7200)
  })

  it('a break-glass session is never renewed past the policy\'s hard cap (15m in the fixture)', async () => {
    const opened = await openBreakGlass(ctx, alice, { asset: 'plant-a/line-3/cell-2/plc-07', reason: 'line down', ttlSeconds: 600 })
    const id = opened.grant.session.id
    now += 60_000
    await expect(renewSession(ctx, alice, id, 900)).rejects.toThrow(/Policy does not allow renewing/)
    expect((await t.ctx.store.sessions.get(id, now / 1000))!.expiresAtEpoch - (await t.ctx.store.sessions.get(id, now / 1000))!.issuedAtEpoch).toBe(600)
    expect((await renewSession(ctx, alice, id, 840)).expiresIn).toBe(840)
    expect((await t.ctx.store.auditLog.events({ sessionId: id })).find((e) => e.type === 'session.renewed')!.severity).toBe('high')
  })
})

describe('store migration', () => {
  it('a data folder from before heartbeats gets the column on open, its sessions intact', async () => {
    const old = mkdtempSync(join(tmpdir(), 'jit-unit-old-'))
    const db = new DatabaseSync(join(old, 'broker.db'))
    db.exec('CREATE TABLE sessions (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, user TEXT NOT NULL, device_id TEXT NOT NULL, asset TEXT NOT NULL, ticket TEXT NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL, jti TEXT NOT NULL UNIQUE, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, cache_allowed INTEGER NOT NULL, state TEXT NOT NULL, ended_at TEXT, ended_by TEXT, end_reason TEXT, last_verified_at TEXT)')
    db.exec("INSERT INTO sessions VALUES ('ses_old','req','alice','dev','a','t','read','standard','jti',1,4102444800,1,'active',NULL,NULL,NULL,NULL)")
    db.close()
    const store = new SqliteAsyncStore(new SqliteStore(old))
    expect(await store.sessions.get('ses_old')).toMatchObject({ state: 'active', heartbeatAtMs: undefined })
    expect(await store.sessions.recordHeartbeat('ses_old', 5)).toBe(true)
    await store.close()
    const reopened = new SqliteAsyncStore(new SqliteStore(old)) // opening again is a no-op
    expect((await reopened.sessions.get('ses_old'))!.heartbeatAtMs).toBe(5)
    await reopened.close()
    rmSync(old, { recursive: true, force: true })
  })
})
