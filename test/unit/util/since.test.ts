import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../src/errors.js'
import { parseSince } from '../../../src/util/since.js'

const now = Date.parse('2026-11-30T12:00:00Z')

describe('--since', () => {
  it('takes a duration back from now', () => {
    expect(parseSince('1h', now)).toBe('2026-11-30T11:00:00.000Z')
    expect(parseSince('1h30m', now)).toBe('2026-11-30T10:30:00.000Z')
    expect(parseSince('2d', now)).toBe('2026-11-28T12:00:00.000Z')
  })

  it('takes an ISO time, as a UTC instant', () => {
    expect(parseSince('2026-11-01', now)).toBe('2026-11-01T00:00:00.000Z')
    expect(parseSince('2026-11-01T06:00:00Z', now)).toBe('2026-11-01T06:00:00.000Z')
    expect(parseSince('2026-11-01T08:00:00+02:00', now)).toBe('2026-11-01T06:00:00.000Z')
  })

  it('refuses anything else with a usage error', () => {
    for (const text of ['yesterday', '', '1 hour', '2026-13-45', '11/01/2026', '-1h']) {
      expect(() => parseSince(text, now), text).toThrow(UsageError)
    }
  })
})
