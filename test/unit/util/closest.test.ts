import { describe, expect, it } from 'vitest'
import { closest, editDistance } from '../../../src/util/closest.js'

describe('did you mean', () => {
  it('counts a swap of two letters as one edit', () => {
    expect(editDistance('reqeust', 'request')).toBe(1)
    expect(editDistance('reqest', 'request')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
  })

  it('suggests the nearest known words, nearest first, and nothing for a word far from all', () => {
    const commands = ['request', 'requests', 'revoke', 'renew', 'sessions', 'sessions pickup']
    expect(closest('reqest', commands)).toEqual(['request', 'requests'])
    expect(closest('sessions pikup', commands)).toEqual(['sessions pickup'])
    expect(closest('deploy', commands)).toEqual([])
  })
})
