// The request bodies (src/wire/api-bodies.ts) as the broker validates them: ajv with the broker's
// options, on the same objects the types come from. What the CLI sends passes; a member the
// schema does not name, a wrong type or an empty required string is refused, never dropped.
import Ajv from 'ajv'
import { describe, expect, it } from 'vitest'
import * as bodies from '../../../src/wire/api-bodies.js'

// As src/broker/http.ts configures fastify's ajv.
const ajv = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false })

const valid: Record<string, [object, Record<string, unknown>]> = {
  CreateRequestBody: [bodies.CreateRequestBody, { ticket: 'WO-104233', asset: 'plant-a/line-3/plc-07', scope: 'diagnose', ttlSeconds: 1800, reason: 'fault', delivery: 'memory' } satisfies bodies.CreateRequestBody],
  EnrollBody: [bodies.EnrollBody, { code: 'ABCD-EFGH-JKLM-NPQR', deviceName: 'laptop', publicKey: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } } satisfies bodies.EnrollBody],
  ReasonBody: [bodies.ReasonBody, { reason: 'done' } satisfies bodies.ReasonBody],
  RenewBody: [bodies.RenewBody, { ttlSeconds: 600 } satisfies bodies.RenewBody],
  IntrospectBody: [bodies.IntrospectBody, { token: 'a.b.c', proof: 'p.q.r', challenge: 'c'.repeat(32) } satisfies bodies.IntrospectBody],
  BreakGlassBody: [bodies.BreakGlassBody, { asset: 'plant-a/line-3/plc-07', reason: 'line down', drill: true } satisfies bodies.BreakGlassBody],
  ReviewAnswers: [bodies.ReviewAnswers, { whatWasDone: 'a', whyNotNormalPath: 'b', changesToAsset: 'c', rollbackNeeded: false } satisfies bodies.ReviewAnswers],
}

describe('request bodies', () => {
  it.each(Object.entries(valid))('%s: what the CLI sends passes; anything else is refused', (_, [schema, body]) => {
    const check = ajv.compile(schema)
    expect(check(body), JSON.stringify(check.errors)).toBe(true)
    expect(check({ ...body, extra: 1 })).toBe(false)
    const [first] = Object.keys(body)
    expect(check({ ...body, [first]: typeof body[first] === 'string' ? 42 : 'text' })).toBe(false)
  })

  it('the enums are the types\' values, and a private key member is refused', () => {
    const request = ajv.compile(bodies.CreateRequestBody)
    const base = valid.CreateRequestBody[1]
    for (const kind of bodies.REQUEST_KINDS) expect(request({ ...base, kind })).toBe(true)
    expect(request({ ...base, kind: 'emergency' })).toBe(false)
    expect(request({ ...base, delivery: 'disk' })).toBe(false)
    const enroll = ajv.compile(bodies.EnrollBody)
    const key = (valid.EnrollBody[1] as bodies.EnrollBody).publicKey
    expect(enroll({ ...valid.EnrollBody[1], publicKey: { ...key, d: 'A'.repeat(43) } })).toBe(false)
    expect(enroll({ ...valid.EnrollBody[1], publicKey: { ...key, crv: 'X25519' } })).toBe(false)
  })

  it('a POST that takes nothing refuses anything', () => {
    const empty = ajv.compile(bodies.EmptyBody)
    expect(empty({})).toBe(true)
    expect(empty({ reason: 'x' })).toBe(false)
  })
})
