// User-supplied text shown to others: control characters become visible escapes, the rest stays.
import { describe, expect, it } from 'vitest'
import { printable } from '../../../src/util/printable.js'

describe('printable', () => {
  it('makes terminal escapes, carriage returns and bidirectional overrides visible', () => {
    expect(printable('jam\u001b[2J\rtimer')).toBe('jam\\u001b[2J\\u000dtimer')
    expect(printable('WO\u202e1\u0000')).toBe('WO\\u202e1\\u0000')
    expect(printable('line\nbreak\u009b')).toBe('line\\u000abreak\\u009b')
  })

  it('leaves ordinary text, umlauts and dashes as they are', () => {
    expect(printable('Förderband E42 – Zeitglied prüfen')).toBe('Förderband E42 – Zeitglied prüfen')
  })
})
