import { describe, expect, it } from 'vitest'
import { GENESIS_HASH, hashEvent, verifyChain } from '../../../src/audit/chain.js'
import type { AuditEvent } from '../../../src/wire/api.js'

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
