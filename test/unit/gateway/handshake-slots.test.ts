import { describe, expect, it } from 'vitest'
import { HandshakeSlots, sourceOf } from '../../../src/gateway/handshake-slots.js'

describe('handshake slots', () => {
  it('one source gets its share, other sources still get slots, and the total is bounded', () => {
    const slots = new HandshakeSlots(10, 3)
    const a = [slots.take('10.0.0.1'), slots.take('10.0.0.1'), slots.take('::ffff:10.0.0.1')]
    expect(a.every((release) => release !== undefined)).toBe(true)
    expect(slots.take('10.0.0.1')).toBeUndefined()
    expect(slots.take('10.0.0.2')).toBeDefined()
    a[0]!()
    a[0]!() // a second call frees nothing more
    expect(slots.total).toBe(3)
    expect(slots.take('10.0.0.1')).toBeDefined()
    expect(slots.take('10.0.0.1')).toBeUndefined()
    for (let i = 3; i <= 8; i++) expect(slots.take(`10.0.0.${i}`)).toBeDefined()
    expect(slots.total).toBe(10)
    expect(slots.take('10.0.0.9')).toBeUndefined()
  })

  it('an IPv6 source is its /64, however the address is written', () => {
    expect(sourceOf('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64')
    expect(sourceOf('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64')
    expect(sourceOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(sourceOf('::1')).toBe('0:0:0:0::/64')
    expect(sourceOf('127.0.0.2')).toBe('127.0.0.2')
  })
})
