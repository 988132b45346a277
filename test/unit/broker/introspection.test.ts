// Expiry is enforced when a credential is checked, not by a sweeper: the broker's own request
// and session functions on a real SQLite store, with the clock moved instead of waited for.
import { sign } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { createRequest } from '../../../src/broker/requests.js'
import { introspect, revokeSession, sweepExpired } from '../../../src/broker/sessions.js'
import { sessionProof } from '../../../src/broker/session-proof.js'
import { verificationsOf } from '../../../src/broker/verifications.js'
import { newDeviceKeyPair } from '../../../src/cli/device/device-key.js'
import { jwkThumbprint, signPossessionProof } from '../../../src/wire/proof-of-possession.js'
import { testContext, type TestContext } from './test-context.js'

const POLICY = `
version: 1
tickets: { formats: [{ system: workorder, pattern: '^WO-[0-9]{6}$' }] }
rules:
  - { name: diag, who: { roles: [technician] }, assets: ['plant-a/**'], scopes: [diagnose], max_ttl: 1h }
`

let t: TestContext
let ctx: BrokerContext
let tess: Actor

beforeEach(async () => {
  t = await testContext(POLICY, Date.parse('2026-11-23T10:00:00Z'))
  ctx = t.ctx
  tess = await t.actor('tess', ['technician'])
  await t.ctx.store.assets.upsert({ path: 'plant-a/line-3/plc-07', attributes: {} })
})

afterEach(() => t.close())

const open = async () => (await createRequest(ctx, tess, { ticket: 'WO-000001', asset: 'plant-a/line-3/plc-07', scope: 'diagnose', ttlSeconds: 600, reason: 'test' })).result.grant!

describe('introspection', () => {
  it('is active within the TTL and inactive the second exp passes, before any sweeper runs', async () => {
    const grant = await open()
    expect(await introspect(ctx, grant.credential, 'test')).toMatchObject({ active: true, sub: 'tess', aud: 'plant-a/line-3/plc-07', scope: 'diagnose' })
    t.clock.now += 599_000
    expect((await introspect(ctx, grant.credential, 'test')).active).toBe(true)
    t.clock.now += 1_000
    expect(await introspect(ctx, grant.credential, 'test')).toEqual({ active: false })
    // The sweeper then records the expiry in the audit log, once.
    expect(await sweepExpired(ctx)).toBe(1)
    expect(await sweepExpired(ctx)).toBe(0)
    expect((await t.ctx.store.auditLog.events({ sessionId: grant.session.id })).map((e) => e.type)).toContain('session.expired')
  })

  it('is inactive right after revoke', async () => {
    const grant = await open()
    await revokeSession(ctx, tess, grant.session.id, 'done')
    expect(await introspect(ctx, grant.credential, 'test')).toEqual({ active: false })
  })

  it('a token with a changed claim or a foreign signature is inactive', async () => {
    const grant = await open()
    const [head, body, sig] = grant.credential.split('.')
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString())
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'control' })).toString('base64url')
    expect((await introspect(ctx, `${head}.${widened}.${sig}`, 'test')).active).toBe(false)
    expect((await introspect(ctx, 'not-a-token', 'test')).active).toBe(false)
  })

  it('checks are kept per session and verifier as an aggregate; the audit log gets the first check and each change of answer, not a record per call', async () => {
    const grant = await open()
    const before = (await t.ctx.store.auditLog.events()).length
    for (let i = 0; i < 50; i++) await introspect(ctx, grant.credential, 'gateway-3')
    await introspect(ctx, grant.credential, 'jump-host')
    await revokeSession(ctx, tess, grant.session.id, 'done')
    for (let i = 0; i < 50; i++) await introspect(ctx, grant.credential, 'gateway-3')
    const verified = (await t.ctx.store.auditLog.events({ sessionId: grant.session.id })).filter((e) => e.type === 'session.verified')
    expect(verified.map((e) => [e.actor, e.data.active])).toEqual([['verifier:gateway-3', true], ['verifier:jump-host', true], ['verifier:gateway-3', false]])
    // 101 checks and a revocation: four new records (three verifications, the revocation).
    expect((await t.ctx.store.auditLog.events()).length - before).toBe(3 + 1)
    expect(await verificationsOf(ctx.store, grant.session.id)).toEqual([
      expect.objectContaining({ verifier: 'gateway-3', checks: 100, lastActive: false }),
      expect.objectContaining({ verifier: 'jump-host', checks: 1, lastActive: true }),
    ])
    expect((await t.ctx.store.sessions.get(grant.session.id))!.lastVerifiedAt).toBeDefined()
  })

  it('the owner\'s own live check (session proof) neither counts as verified by an asset nor writes an audit record', async () => {
    const grant = await open()
    const before = (await t.ctx.store.auditLog.events()).length
    expect((await sessionProof(ctx, tess, grant.session.id)).liveCheck.active).toBe(true)
    expect((await sessionProof(ctx, tess, grant.session.id)).liveCheck.active).toBe(true)
    expect((await t.ctx.store.auditLog.events()).length).toBe(before)
    expect((await t.ctx.store.sessions.get(grant.session.id))!.lastVerifiedAt).toBeUndefined()
  })

  it('a credential re-signed by the broker\'s own key under another alg or typ is inactive', async () => {
    const grant = await open()
    const [head, body] = grant.credential.split('.')
    const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as Record<string, unknown>
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'JWT', kid: ctx.signingKey.kid })
    const resigned = (h: Record<string, unknown>) => {
      const input = `${Buffer.from(JSON.stringify(h)).toString('base64url')}.${body}`
      return `${input}.${sign(null, Buffer.from(input), ctx.signingKey.privateKey).toString('base64url')}`
    }
    expect((await introspect(ctx, resigned(header), 'test')).active).toBe(true)
    for (const h of [{ ...header, alg: 'none' }, { ...header, alg: 'HS256' }, { ...header, typ: 'jit-audit-checkpoint+jwt' }, { ...header, crit: ['exp'] }, { ...header, kid: 'another' }]) {
      expect(await introspect(ctx, resigned(h), 'test'), JSON.stringify(h)).toEqual({ active: false })
    }
    expect(await introspect(ctx, `${head}.${body}.`, 'test')).toEqual({ active: false })
  })

  it('with a proof of possession: verified only for the device key cnf names, this challenge and this verifier', async () => {
    const pair = newDeviceKeyPair()
    const vic = await t.actor('vic', ['technician'], pair.publicJwk)
    // The test context's jkt is a placeholder; the real one is the key's RFC 7638 thumbprint.
    t.sqlite.db.prepare('UPDATE devices SET jkt = ? WHERE id = ?').run(await jwkThumbprint(pair.publicJwk), vic.deviceId)
    const grant = (await createRequest(ctx, vic, { ticket: 'WO-000001', asset: 'plant-a/line-3/plc-07', scope: 'diagnose', ttlSeconds: 600, reason: 'test' })).result.grant!
    const challenge = 'c'.repeat(32)
    const nowEpoch = ctx.now() / 1000
    const { jti, aud } = JSON.parse(Buffer.from(grant.credential.split('.')[1], 'base64url').toString()) as { jti: string; aud: string }
    const binding = { token: grant.credential, jti, asset: aud, challenge, verifier: 'gateway-3', nowEpoch }
    const proof = signPossessionProof(pair.privateKey, binding)
    expect(await introspect(ctx, grant.credential, 'gateway-3', { proof, challenge })).toMatchObject({ active: true, possession: { verified: true } })
    // A stolen token with the thief's own key, a replay to another verifier, another challenge.
    const thief = signPossessionProof(newDeviceKeyPair().privateKey, binding)
    expect((await introspect(ctx, grant.credential, 'gateway-3', { proof: thief, challenge })).possession).toEqual({ verified: false, reason: expect.stringMatching(/key other than/) })
    expect((await introspect(ctx, grant.credential, 'jump-host', { proof, challenge })).possession).toEqual({ verified: false, reason: expect.stringMatching(/another verifier/) })
    expect((await introspect(ctx, grant.credential, 'gateway-3', { proof, challenge: 'd'.repeat(32) })).possession).toEqual({ verified: false, reason: expect.stringMatching(/another challenge/) })
  })
})
