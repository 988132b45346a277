// The revocation journal: ids only, one entry per session, no file at all when empty, and the
// rule for what counts as "the broker did not answer".
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuthError, BrokerUnreachableError, JitError, UsageError } from '../../../../src/errors.js'
import { addToJournal, hasPendingRevocations, isUnconfirmed, journalPath, readJournal, removeFromJournal } from '../../../../src/cli/sessions/revocation-journal.js'

let home: string
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'jit-journal-'))
  process.env.JIT_HOME = home
})
afterEach(() => {
  delete process.env.JIT_HOME
  rmSync(home, { recursive: true, force: true })
})

const entry = (sessionId: string) => ({ sessionId, profile: 'default', broker: 'http://127.0.0.1:1', reason: 'command ended (exit 0)', since: '2026-01-01T00:00:00Z' })

describe('revocation journal', () => {
  it('keeps one entry per session, owner-only, and disappears when the last one is confirmed', () => {
    expect(hasPendingRevocations()).toBe(false)
    addToJournal(entry('ses_a'))
    addToJournal(entry('ses_b'))
    addToJournal(entry('ses_a'))
    expect(readJournal().map((e) => e.sessionId)).toEqual(['ses_b', 'ses_a'])
    expect(Object.keys(readJournal()[0]).sort()).toEqual(['broker', 'profile', 'reason', 'sessionId', 'since'])
    expect(statSync(journalPath()).mode & 0o777).toBe(0o600)
    removeFromJournal('ses_a')
    expect(JSON.parse(readFileSync(journalPath(), 'utf8'))).toHaveLength(1)
    removeFromJournal('ses_b')
    expect(existsSync(journalPath())).toBe(false)
    expect(hasPendingRevocations()).toBe(false)
  })

  it('retries what the broker did not answer for, and nothing it refused', () => {
    expect(isUnconfirmed(new BrokerUnreachableError('down'))).toBe(true)
    expect(isUnconfirmed(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toBe(true)
    expect(isUnconfirmed(new JitError('The broker failed: HTTP 500'))).toBe(true)
    expect(isUnconfirmed(new AuthError('deregistered'))).toBe(false)
    expect(isUnconfirmed(new UsageError('not found'))).toBe(false)
  })
})
