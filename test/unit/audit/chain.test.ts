// The audit hash is a format: records hashed by any earlier broker must still verify. The fast
// hashEvent must give the same bytes as the definition (sha256 over prev hash, newline and the
// canonical JSON of the record's fields), for any record.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { GENESIS_HASH, hashEvent, verifyChain, type AuditBody } from '../../../src/audit/chain.js'
import type { AuditEvent } from '../../../src/wire/api.js'
import { canonicalJson } from '../../../src/util/canonical-json.js'

function definition(prevHash: string, body: AuditBody): string {
  const { seq, at, type, severity, actor, sessionId, requestId, data } = body
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson({ seq, at, type, severity, actor, sessionId, requestId, data })).digest('hex')
}

const body = fc.record(
  {
    seq: fc.integer({ min: 1 }),
    at: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    type: fc.string(),
    severity: fc.constantFrom('info' as const, 'high' as const),
    actor: fc.string(),
    sessionId: fc.option(fc.string(), { nil: undefined }),
    requestId: fc.option(fc.string(), { nil: undefined }),
    data: fc.dictionary(fc.string(), fc.jsonValue()),
  },
  { requiredKeys: ['seq', 'at', 'type', 'severity', 'actor', 'data'] },
)

describe('hashEvent', () => {
  it('gives the bytes of the definition for any record', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), body, (prev, b) => {
      expect(hashEvent(prev, b)).toBe(definition(prev, b))
    }), { numRuns: 500 })
  })

  it('keeps a known record at its known hash', () => {
    const record: AuditBody = { seq: 1, at: '2026-01-05T06:00:00.000Z', type: 'user.saved', severity: 'info', actor: 'operator:root', data: { user: 'alice', roles: ['technician'], org: null } }
    expect(hashEvent(GENESIS_HASH, record)).toBe(definition(GENESIS_HASH, record))
    expect(verifyChain([{ ...record, prevHash: GENESIS_HASH, hash: definition(GENESIS_HASH, record) }])).toEqual({ ok: true, events: 1 })
    expect(verifyChain([{ ...record, actor: 'mallory', prevHash: GENESIS_HASH, hash: definition(GENESIS_HASH, record) }]).ok).toBe(false)
  })
})

function chain(n: number): AuditEvent[] {
  const events: AuditEvent[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= n; seq++) {
    const body = { seq, at: `2026-11-23T00:00:0${seq % 10}Z`, type: 'session.issued', severity: 'info' as const, actor: 'tess', sessionId: `ses_${seq}`, data: { n: seq } }
    const hash = hashEvent(prev, body)
    events.push({ ...body, prevHash: prev, hash })
    prev = hash
  }
  return events
}

describe('audit hash chain', () => {
  it('an untouched chain verifies', () => {
    expect(verifyChain(chain(5))).toEqual({ ok: true, events: 5 })
  })

  it('names an edited record', () => {
    const events = chain(5)
    events[2] = { ...events[2], actor: 'mallory' }
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBad: { seq: 3, problem: expect.stringMatching(/edited/) } })
  })

  it('names the record after a deleted one', () => {
    const events = chain(5)
    events.splice(1, 1)
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBad: { seq: 3 } })
  })

  it('finds reordered records', () => {
    const events = chain(5)
    ;[events[1], events[2]] = [events[2], events[1]]
    expect(verifyChain(events).ok).toBe(false)
    expect(verifyChain(events).firstBad!.seq).toBe(3)
  })
})
