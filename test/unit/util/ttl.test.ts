import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../src/errors.js'
import { formatDuration, parseDuration } from '../../../src/util/ttl.js'

describe('parseDuration', () => {
  const good: [string, number][] = [['90s', 90], ['30m', 1800], ['2h', 7200], ['1h30m', 5400], ['1d', 86400], [' 45m ', 2700]]
  for (const [text, seconds] of good) it(`${JSON.stringify(text)} is ${seconds}s`, () => expect(parseDuration(text)).toBe(seconds))

  for (const text of ['', 'soon', '30', '1.5h', '-5m', 'm', '30m2h', '1h 30m']) {
    it(`${JSON.stringify(text)} is a usage error naming the input`, () => {
      expect(() => parseDuration(text)).toThrow(UsageError)
      expect(() => parseDuration(text)).toThrow(/not a duration/)
    })
  }
})

describe('formatDuration', () => {
  it('keeps the two largest units', () => {
    expect(formatDuration(5400)).toBe('1h30m')
    expect(formatDuration(90061)).toBe('1d1h')
    expect(formatDuration(0)).toBe('0s')
  })
})
