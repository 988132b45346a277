// Offboarding on the broker's own functions and a real SQLite store: what each step ends at once,
// what it cancels, what it audits; and `jit logout` cancelling the device's pending requests.
import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openBreakGlass } from '../../../src/broker/breakglass/grant.js'
import { requiredReviews } from '../../../src/broker/breakglass/reviews.js'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { deregisterDevice } from '../../../src/broker/deregistration.js'
import { enrollDevice, makeEnrollmentCode } from '../../../src/broker/enrollment.js'
import { addVerifier, disableUser, enableUser, removeVerifier, revokeDevice, revokeEnrollmentCodes, rotateVerifier } from '../../../src/broker/offboarding.js'
import { createRequest } from '../../../src/broker/requests.js'
import { introspect } from '../../../src/broker/sessions.js'
import { testContext, type TestContext } from './test-context.js'

const POLICY = `
version: 1
rules:
  - { name: diag, who: { roles: [technician] }, assets: ['plant-a/**'], scopes: [diagnose], max_ttl: 1h }
  - { name: ctl, who: { roles: [technician] }, assets: ['plant-a/**'], scopes: [control], max_ttl: 1h, approval: { count: 1, from_roles: [shift-lead] } }
break_glass:
  who: { roles: [technician] }
  assets: ['plant-a/**']
  scopes: [control]
  max_ttl: 15m
  notify: ['role:security']
  review_due: 1h
`
const PLC = 'plant-a/line-3/plc-07'

let t: TestContext
let ctx: BrokerContext
let tess: Actor

beforeEach(async () => {
  t = await testContext(POLICY, Date.parse('2026-11-23T10:00:00Z'))
  ctx = t.ctx
  tess = await t.actor('tess', ['technician'])
  await t.ctx.store.assets.upsert({ path: PLC, attributes: {} })
})
afterEach(() => t.close())

const session = async (actor: Actor) => (await createRequest(ctx, actor, { ticket: 'WO-1', asset: PLC, scope: 'diagnose', ttlSeconds: 600, reason: 'r' })).result.grant!
const pending = async (actor: Actor) => (await createRequest(ctx, actor, { ticket: 'WO-1', asset: PLC, scope: 'control', ttlSeconds: 600, reason: 'r' })).result.request.id
const endedData = async (sessionId: string) => (await t.ctx.store.auditLog.events({ sessionId })).find((e) => e.type === 'session.revoked')?.data

describe('offboarding', () => {
  it('disabling a user ends every session of theirs at once (cause user-disabled), cancels their pending requests, audits it; enabling lets them in again', async () => {
    const laptop = await session(tess)
    const second = { ...tess, deviceId: (await t.actor('tess', ['technician'])).deviceId }
    const tablet = await session(second)
    const waiting = await pending(tess)
    const result = await disableUser(ctx, 'ada', 'tess', 'left the company')
    expect(result.sessionsEnded.map((s) => s.id).sort()).toEqual([laptop.session.id, tablet.session.id].sort())
    expect(result.requestsCancelled).toEqual([waiting])
    for (const grant of [laptop, tablet]) {
      expect((await introspect(ctx, grant.credential, 'gw')).active).toBe(false)
      expect(await endedData(grant.session.id)).toMatchObject({ cause: 'user-disabled', reason: 'left the company' })
    }
    expect((await t.ctx.store.requests.get(waiting))).toMatchObject({ state: 'cancelled', decidedBy: 'ada' })
    expect((await t.ctx.store.auditLog.events()).filter((e) => e.type === 'user.disabled')).toEqual([expect.objectContaining({ actor: 'ada', severity: 'high', data: expect.objectContaining({ user: 'tess', requestsCancelled: [waiting] }) })])
    await expect(session(tess)).rejects.toThrow(/No session can open for tess/)
    await enableUser(ctx, 'ada', 'tess')
    expect((await session(tess)).session.state).toBe('active')
  })

  it('a break-glass session ended by offboarding has its review fall due', async () => {
    await openBreakGlass(ctx, tess, { asset: PLC, reason: 'line down' })
    await disableUser(ctx, 'ada', 'tess')
    expect(await requiredReviews(ctx, 'tess')).toHaveLength(1)
  })

  it('revoking a device ends only that device\'s sessions and requests (cause device-revoked); the user\'s other device keeps working', async () => {
    const other = { ...tess, deviceId: (await t.actor('tess', ['technician'])).deviceId }
    const stolen = await session(tess)
    const kept = await session(other)
    const waitingStolen = await pending(tess)
    const waitingKept = await pending(other)
    const result = await revokeDevice(ctx, 'ada', tess.deviceId, 'laptop stolen')
    expect(result).toMatchObject({ deviceId: tess.deviceId, user: 'tess', requestsCancelled: [waitingStolen] })
    expect(result.sessionsEnded.map((s) => s.id)).toEqual([stolen.session.id])
    expect((await introspect(ctx, stolen.credential, 'gw')).active).toBe(false)
    expect((await introspect(ctx, kept.credential, 'gw')).active).toBe(true)
    expect(await endedData(stolen.session.id)).toMatchObject({ cause: 'device-revoked' })
    expect((await t.ctx.store.requests.get(waitingKept))!.state).toBe('pending')
    expect((await t.ctx.store.devices.get(tess.deviceId))!.revokedAt).toBeDefined()
    await expect(revokeDevice(ctx, 'ada', tess.deviceId)).rejects.toThrow(/already revoked/)
  })

  it('jit logout (deregistration) also cancels the device\'s pending requests', async () => {
    const waiting = await pending(tess)
    const result = await deregisterDevice(ctx, tess)
    expect(result.requestsCancelled).toEqual([waiting])
    expect((await t.ctx.store.requests.get(waiting))!.state).toBe('cancelled')
    expect((await t.ctx.store.auditLog.events()).filter((e) => e.type === 'device.deregistered')).toHaveLength(1)
  })

  it('revoking a user\'s unused enrollment codes: none of them enrolls any more', async () => {
    const { code } = await makeEnrollmentCode(ctx.store, 'tess', 3600, 'ada')
    expect(await revokeEnrollmentCodes(ctx, 'ada', 'tess')).toEqual({ user: 'tess', revoked: 1 })
    await expect(enrollDevice(ctx, { code, publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'B'.repeat(43) }, deviceName: 'x' })).rejects.toThrow(/unknown, already used or expired/)
  })

  it('verifiers: adding one twice is a clear refusal; rotating stops the old token; removing stops it', async () => {
    const first = await addVerifier(ctx, 'ada', 'gw-3')
    await expect(addVerifier(ctx, 'ada', 'gw-3')).rejects.toThrow(/already exists/)
    const hash = (token: string) => createHash('sha256').update(token).digest('hex')
    expect((await t.ctx.store.verifiers.byTokenHash(hash(first.token)))).toBe('gw-3')
    const rotated = await rotateVerifier(ctx, 'ada', 'gw-3')
    expect((await t.ctx.store.verifiers.byTokenHash(hash(first.token)))).toBeUndefined()
    expect((await t.ctx.store.verifiers.byTokenHash(hash(rotated.token)))).toBe('gw-3')
    await removeVerifier(ctx, 'ada', 'gw-3')
    expect((await t.ctx.store.verifiers.byTokenHash(hash(rotated.token)))).toBeUndefined()
    expect((await t.ctx.store.auditLog.events()).map((e) => e.type).filter((type) => type.startsWith('verifier.'))).toEqual(['verifier.added', 'verifier.rotated', 'verifier.removed'])
  })
})
