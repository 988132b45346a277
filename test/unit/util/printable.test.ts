// Control characters in user-supplied text are shown, not obeyed (src/util/printable.ts).
import { describe, expect, it } from 'vitest'
import { printable } from '../../../src/util/printable.js'
import { render } from '../../../src/broker/notifier.js'

// What an attacker's reason looks like: erase the line, go back, paint a harmless row.
const HOSTILE = 'fix\x1b[2K\r\x1b[1A| req_1 | read |\u202Eevil\u0007\x9b31m\u200b'

describe('printable', () => {
  it('shows every control, C1 and bidi/zero-width character as a visible escape; plain text and other Unicode unchanged', () => {
    const shown = printable(HOSTILE)
    expect(shown).toBe('fix\\x1b[2K\\x0d\\x1b[1A| req_1 | read |\\u202eevil\\x07\\x9b31m\\u200b')
    expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e\u200b]/)
    expect(printable('Pumpe läuft, Störung 3 — ok ✔')).toBe('Pumpe läuft, Störung 3 — ok ✔')
    expect(printable('line one\nline two\ttab')).toBe('line one\\x0aline two\\x09tab')
    expect(printable(undefined)).toBe('')
  })

  it('chat notifications carry the reason neutralised and chat markup escaped', () => {
    const notice = { event: 'break-glass.opened', drill: false, user: 'tess', asset: 'plant-a/line-3/plc-07', sessionId: 'ses_1', reason: `${HOSTILE} <!channel> <https://evil.example|click> & more`, incident: 'INC\x1b[31m1', notify: ['role:security'], at: '2026-11-23T03:00:00Z', expiresAt: '2026-11-23T03:15:00Z' } as const
    const { text } = render({ ...notice, notify: [...notice.notify] }, 'chat') as { text: string }
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e\u200b]/)
    expect(text).toContain('fix\\x1b[2K\\x0d\\x1b[1A')
    expect(text).toContain('&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; more')
    expect(text).toContain('incident INC\\x1b[31m1')
    // The plain JSON style keeps the data as sent (JSON escapes it); it is not shown as text.
    expect((render({ ...notice, notify: [...notice.notify] }, 'json') as { reason: string }).reason).toBe(notice.reason)
  })
})
