// Expiry is enforced when a credential is checked, not by a sweeper: the broker's own request
// and session functions on a real SQLite store, with the clock moved instead of waited for.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { createRequest } from '../../../src/broker/requests.js'
import { introspect, revokeSession, sweepExpired } from '../../../src/broker/sessions.js'
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
  tess = t.actor('tess', ['technician'])
  ctx.store.upsertAsset({ path: 'plant-a/line-3/plc-07', attributes: {} })
})

afterEach(() => t.close())

const open = () => createRequest(ctx, tess, { ticket: 'WO-000001', asset: 'plant-a/line-3/plc-07', scope: 'diagnose', ttlSeconds: 600, reason: 'test' }).result.grant!

describe('introspection', () => {
  it('is active within the TTL and inactive the second exp passes, before any sweeper runs', () => {
    const grant = open()
    expect(introspect(ctx, grant.credential, 'verifier:test')).toMatchObject({ active: true, sub: 'tess', aud: 'plant-a/line-3/plc-07', scope: 'diagnose' })
    t.clock.now += 599_000
    expect(introspect(ctx, grant.credential, 'verifier:test').active).toBe(true)
    t.clock.now += 1_000
    expect(introspect(ctx, grant.credential, 'verifier:test')).toEqual({ active: false })
    // The sweeper then records the expiry in the audit log, once.
    expect(sweepExpired(ctx)).toBe(1)
    expect(sweepExpired(ctx)).toBe(0)
    expect([...ctx.store.auditEvents({ sessionId: grant.session.id })].map((e) => e.type)).toContain('session.expired')
  })

  it('is inactive right after revoke', () => {
    const grant = open()
    revokeSession(ctx, tess, grant.session.id, 'done')
    expect(introspect(ctx, grant.credential, 'verifier:test')).toEqual({ active: false })
  })

  it('a token with a changed claim or a foreign signature is inactive', () => {
    const grant = open()
    const [head, body, sig] = grant.credential.split('.')
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString())
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'control' })).toString('base64url')
    expect(introspect(ctx, `${head}.${widened}.${sig}`, 'verifier:test').active).toBe(false)
    expect(introspect(ctx, 'not-a-token', 'verifier:test').active).toBe(false)
  })

  it('every check is recorded against the session, with who asked', () => {
    const grant = open()
    introspect(ctx, grant.credential, 'verifier:gateway-3')
    const verified = [...ctx.store.auditEvents({ sessionId: grant.session.id })].filter((e) => e.type === 'session.verified')
    expect(verified).toHaveLength(1)
    expect(verified[0]).toMatchObject({ actor: 'verifier:gateway-3', data: { active: true } })
    expect(ctx.store.getSession(grant.session.id)!.lastVerifiedAt).toBeDefined()
  })
})
