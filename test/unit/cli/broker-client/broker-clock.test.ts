// The broker's time as the CLI learns it from a clock refusal: corrected within the bound, not beyond.
import { describe, expect, it } from 'vitest'
import { BrokerClock, MAX_CORRECTED_SKEW_SECONDS } from '../../../../src/cli/broker-client/broker-clock.js'

describe('broker clock', () => {
  it('learns an offset within the bound and signs with it', () => {
    const clock = new BrokerClock()
    const local = Date.now()
    expect(clock.learn(new Date(local + 120_000).toISOString(), local)).toBe(120)
    expect(clock.nowMs() - Date.now()).toBeGreaterThan(119_000)
    expect(clock.nowMs() - Date.now()).toBeLessThan(121_000)
  })

  it('leaves a clock off by more than the bound (or an unreadable time) alone', () => {
    const clock = new BrokerClock()
    const local = Date.now()
    expect(clock.learn(new Date(local - (MAX_CORRECTED_SKEW_SECONDS + 1) * 1000).toISOString(), local)).toBeUndefined()
    expect(clock.learn('not a time', local)).toBeUndefined()
    expect(clock.learn(undefined, local)).toBeUndefined()
    expect(clock.offsetMs).toBe(0)
  })
})
