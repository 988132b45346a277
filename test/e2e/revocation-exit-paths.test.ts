// Every way a wrapped command can end revokes its session: the broker says so (introspection
// inactive), its record says who ended it and why, and the credential is gone from the keychain.
// Real broker process, real CLI processes, real Secret Service keychain.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { deviceIdOf, keychainHas, latestSessionOf, sessionRow, waitForFile } from './revocation-helpers.js'

let broker: TestBroker
let alice: string
let verifierToken: string
// The harness waits for jit's stdio to close: a sleep left behind by a killed sh must not hold it.
const LONG = 'sleep 30 </dev/null >/dev/null 2>&1'
const access = ['--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m']

beforeAll(async () => {
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
  verifierToken = await broker.addVerifier('gateway-line-3')
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, alice)
})

async function expectRevokedByJit(token: string, sessionId: string, reason: RegExp): Promise<void> {
  expect((await introspect(broker, token, verifierToken)).active).toBe(false)
  const row = await sessionRow(broker, sessionId)
  expect(row.state).toBe('revoked')
  expect(row.ended_by).toBe('alice')
  expect(row.end_reason).toMatch(reason)
  expect(await keychainHas(`cred:${deviceIdOf(alice)}:${sessionId}`)).toBe(false)
  expect(existsSync(join(alice, 'revocation-journal.json'))).toBe(false)
}

describe('jit exec revokes however the command ends', () => {
  const cases: { name: string; script: string; code: number; signal?: NodeJS.Signals; reason: RegExp }[] = [
    { name: 'normal exit', script: 'exit 0', code: 0, reason: /command ended \(exit 0\)/ },
    { name: 'non-zero exit', script: 'exit 3', code: 3, reason: /command ended \(exit 3\)/ },
    { name: 'the command crashes (SIGSEGV)', script: 'kill -SEGV $$', code: 139, reason: /command ended \(SIGSEGV\)/ },
    { name: 'SIGTERM to jit goes to the command first', script: LONG, code: 143, signal: 'SIGTERM', reason: /command ended \(SIGTERM\)/ },
    { name: 'SIGHUP to jit goes to the command first', script: LONG, code: 129, signal: 'SIGHUP', reason: /command ended \(SIGHUP\)/ },
    // Not at a terminal, nobody else delivers an interrupt to the command: jit forwards it. (A
    // shell waiting for a foreground child defers SIGINT until the child ends, hence exec.)
    { name: 'SIGINT to jit (no terminal) goes to the command first', script: `exec ${LONG}`, code: 130, signal: 'SIGINT', reason: /command ended \(SIGINT\)/ },
    { name: 'jit waits for a command that handles the signal', script: `trap "sleep 1; exit 42" TERM; ${LONG} & wait`, code: 42, signal: 'SIGTERM', reason: /command ended \(exit 42\)/ },
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const out = tempDir()
      // `exec sleep` would replace sh; the token file is written first, then the command's work.
      const script = `printf %s "$JIT_SESSION_ID" > ${out}/sid; printf %s "$JIT_TOKEN" > ${out}/token; ${c.script}`
      const result = await jit(['exec', ...access, '--', 'sh', '-c', script], {
        home: alice,
        onSpawn: (child) => {
          if (c.signal) void waitForFile(join(out, 'token')).then(() => child.kill(c.signal))
        },
      })
      expect(result.code).toBe(c.code)
      expect(result.stderr).toMatch(/Revoked session ses_/)
      const token = await waitForFile(join(out, 'token'))
      await expectRevokedByJit(token, await waitForFile(join(out, 'sid')), c.reason)
      cleanup(out)
    })
  }

  it('a command that cannot start: exit 2, and the session it was opened for is revoked', async () => {
    const result = await jit(['exec', ...access, '--json', '--', 'no-such-tool-anywhere'], { home: alice })
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/command not found/)
    const sid = await latestSessionOf(broker, 'alice')
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', ended_by: 'alice', end_reason: 'the command could not be started' })
    expect(await keychainHas(`cred:${deviceIdOf(alice)}:${sid}`)).toBe(false)
  })

  it('--json: one document on stdout with the outcome, and no credential in it', async () => {
    const result = await jit(['exec', ...access, '--json', '--', 'sh', '-c', 'exit 4'], { home: alice })
    expect(result.code).toBe(4)
    const doc = result.json()
    expect(doc).toMatchObject({ exitCode: 4, revoked: true, revocationPending: false, cached: true })
    expect(result.stdout + result.stderr).not.toMatch(/eyJ/)
  })
})

describe('jit shell', () => {
  it('runs a subshell with the credential and revokes when it exits, with its exit code', async () => {
    const out = tempDir()
    const result = await jit(['shell', ...access], {
      home: alice,
      env: { SHELL: '/bin/sh' },
      input: `printf %s "$JIT_TOKEN" > ${out}/token\nprintf %s "$JIT_SESSION_ID" > ${out}/sid\nexit 5\n`,
    })
    expect(result.code).toBe(5)
    expect(result.stderr).toMatch(/Revoked session ses_.*the subshell exited 5/)
    await expectRevokedByJit(await waitForFile(join(out, 'token')), await waitForFile(join(out, 'sid')), /command ended \(exit 5\)/)
    cleanup(out)
  })

  it('SIGTERM to jit ends the subshell, then the session', async () => {
    const out = tempDir()
    const result = await jit(['shell', ...access], {
      home: alice,
      env: { SHELL: '/bin/sh' },
      // The token file is the signal to strike, so it is written last: sh may die right after it.
      input: `printf %s "$JIT_SESSION_ID" > ${out}/sid\nprintf %s "$JIT_TOKEN" > ${out}/token\n${LONG}\n`,
      onSpawn: (child) => void waitForFile(join(out, 'token')).then(() => child.kill('SIGTERM')),
    })
    expect(result.code).toBe(143)
    await expectRevokedByJit(await waitForFile(join(out, 'token')), await waitForFile(join(out, 'sid')), /command ended \(SIGTERM\)/)
    cleanup(out)
  })
})
