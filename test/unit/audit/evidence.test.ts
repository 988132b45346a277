// An evidence file verifies on its own, and no single changed byte or removed line gets past the
// check: every byte of a file is changed in turn, then every line removed in turn.
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { GENESIS_HASH, hashEvent } from '../../../src/audit/chain.js'
import { signCheckpoint } from '../../../src/audit/checkpoint.js'
import { evidenceFile, verifyEvidence } from '../../../src/audit/evidence.js'
import type { AuditEvent } from '../../../src/wire/api.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const jwk = { ...(publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string }), kid: 'k1' }

/** A chain of 8 records; records 3, 5 and 6 are the session's. */
function chain(): AuditEvent[] {
  const events: AuditEvent[] = []
  let prevHash = GENESIS_HASH
  for (let seq = 1; seq <= 8; seq++) {
    const mine = [3, 5, 6].includes(seq)
    const body = { seq, at: `2026-12-01T10:00:0${seq}.000Z`, type: mine ? 'session.verified' : 'user.saved', severity: 'info' as const, actor: mine ? 'tess' : 'operator:root', data: { n: seq, note: 'é "quoted"' }, ...(mine ? { sessionId: 'ses_1' } : {}) }
    const hash = hashEvent(prevHash, body)
    events.push({ ...body, prevHash, hash })
    prevHash = hash
  }
  return events
}

function makeFile(): string {
  const events = chain()
  const segment = events.filter((e) => e.seq >= 3 && e.seq <= 7)
  const last = segment[segment.length - 1]
  const at = '2026-12-01T10:01:00.000Z'
  return evidenceFile({
    broker: { issuer: 'https://broker.plant', jwk },
    summary: { subject: { session: 'ses_1' }, sessions: [{ id: 'ses_1', user: 'tess' }] },
    segment,
    subject: new Set([3, 5, 6]),
    checkpoint: { seq: last.seq, hash: last.hash, at, jws: signCheckpoint(last, at, 'https://broker.plant', privateKey, 'k1') },
  }, privateKey, 'k1')
}

describe('evidence file', () => {
  const text = makeFile()

  it('verifies on its own, and against the pinned key', () => {
    expect(verifyEvidence(text)).toMatchObject({ ok: true, events: 5, head: { seq: 7 }, anchoredAt: { seq: 7 } })
    expect(verifyEvidence(text, { keys: [{ kid: 'k1', publicKey: createPublicKey(privateKey), x: jwk.x }] })).toMatchObject({ ok: true, anchoredBy: ['key'] })
    const other = generateKeyPairSync('ed25519').publicKey
    const otherX = (other.export({ format: 'jwk' }) as { x: string }).x
    expect(verifyEvidence(text, { keys: [{ kid: 'k2', publicKey: other, x: otherX }] }).ok).toBe(false)
  })

  it('fails after any one byte is changed', () => {
    const survivors: number[] = []
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i)
      // Another printable character (or the newline made a space): the file stays text.
      const replacement = code === 10 ? ' ' : String.fromCharCode(code === 126 ? 125 : code + 1)
      const changed = text.slice(0, i) + replacement + text.slice(i + 1)
      if (verifyEvidence(changed).ok) survivors.push(i)
    }
    expect(survivors.map((i) => text.slice(Math.max(0, i - 20), i + 20))).toEqual([])
  })

  it('fails after any one line is removed, or the redacted records are shown in full', () => {
    const lines = text.trim().split('\n')
    for (let i = 0; i < lines.length; i++) {
      expect(verifyEvidence(`${lines.filter((_, j) => j !== i).join('\n')}\n`).ok, `without line ${i + 1}`).toBe(false)
    }
    const full = chain().find((e) => e.seq === 4)!
    const revealed = text.replace(lines.find((l) => l.includes('"seq":4'))!, JSON.stringify({ record: 'event', ...full }))
    expect(verifyEvidence(revealed).firstBad?.problem).toMatch(/not one the signed summary names/)
  })
})
