// The revocation journal: ids only, one entry per session, no file at all when empty, and the
// rule for what counts as "the broker did not answer".
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
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

const JOURNAL_MODULE = resolve(import.meta.dirname, '../../../../src/cli/sessions/revocation-journal.ts')

/** A separate node process (running the source as is) that adds n entries and removes the even ones. */
function journalWorker(p: number, n: number): Promise<number | null> {
  const script = `
    import { registerHooks } from 'node:module'
    registerHooks({ resolve: (spec, ctx, next) => { try { return next(spec, ctx) } catch (e) { if (spec.endsWith('.js')) return next(spec.slice(0, -3) + '.ts', ctx); throw e } } })
    const { addToJournal, removeFromJournal } = await import(${JSON.stringify(JOURNAL_MODULE)})
    for (let i = 0; i < ${n}; i++) {
      await addToJournal({ sessionId: 'ses_${p}_' + i, profile: 'default', broker: 'http://127.0.0.1:1', reason: 'command ended (exit 0)', since: '2026-01-01T00:00:00Z' })
      if (i % 2 === 0) await removeFromJournal('ses_${p}_' + i)
    }`
  const child = spawn(process.execPath, ['--experimental-transform-types', '--no-warnings', '--input-type=module', '-e', script], { stdio: 'inherit', env: { ...process.env, JIT_HOME: home } })
  return new Promise((done) => child.once('exit', done))
}

const entry = (sessionId: string) => ({ sessionId, profile: 'default', broker: 'http://127.0.0.1:1', reason: 'command ended (exit 0)', since: '2026-01-01T00:00:00Z' })

describe('revocation journal', () => {
  it('keeps one entry per session, owner-only, and disappears when the last one is confirmed', async () => {
    expect(hasPendingRevocations()).toBe(false)
    await addToJournal(entry('ses_a'))
    await addToJournal(entry('ses_b'))
    await addToJournal(entry('ses_a'))
    expect(readJournal().map((e) => e.sessionId)).toEqual(['ses_b', 'ses_a'])
    expect(Object.keys(readJournal()[0]).sort()).toEqual(['broker', 'profile', 'reason', 'sessionId', 'since'])
    expect(statSync(journalPath()).mode & 0o777).toBe(0o600)
    await removeFromJournal('ses_a')
    expect(JSON.parse(readFileSync(journalPath(), 'utf8'))).toHaveLength(1)
    await removeFromJournal('ses_b')
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

  it('jit processes adding and removing entries at the same time lose and duplicate none', async () => {
    // Eight processes each add 25 entries and remove every other one of their own, all at once.
    const codes = await Promise.all(Array.from({ length: 8 }, (_, p) => journalWorker(p, 25)))
    expect(codes).toEqual(Array(8).fill(0))
    const ids = readJournal().map((e) => e.sessionId)
    const expected = Array.from({ length: 8 }, (_, p) => Array.from({ length: 25 }, (_, i) => `ses_${p}_${i}`).filter((_, i) => i % 2 === 1)).flat()
    expect(ids.sort()).toEqual(expected.sort())
    expect(existsSync(`${journalPath()}.lock`)).toBe(false)
  }, 60_000)
})
