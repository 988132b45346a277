// A real terminal (tmux): Ctrl-C typed at the keyboard, and the terminal closing (SIGHUP), each
// end the wrapped command and then the session. jit runs as the pane's own process, as it would
// in a terminal window.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, PLC, cleanup, introspect, startBroker, tempDir, type TestBroker } from './harness.js'
import { sessionRow, waitFor, waitForFile } from './revocation-helpers.js'

let broker: TestBroker
let alice: string
let verifierToken: string
let socketDir: string
const access = ['--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m']
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

// A tmux server of our own (its own socket), so no one else's sessions are touched.
const tmux = (...args: string[]) => execFileSync('tmux', ['-S', join(socketDir, 'tmux.sock'), ...args], { encoding: 'utf8' })

function openTerminal(name: string, argv: string[], env: Record<string, string>, options: { statusFile?: string } = {}): number {
  const run = `env ${Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ')} ${argv.map(quote).join(' ')}`
  // tmux does not always learn a pane's exit status, so a small shell records it when asked to.
  // It catches SIGINT with a handler (not by ignoring it, which jit would inherit) to outlive Ctrl-C.
  const command = options.statusFile ? `trap : INT; ${run}; echo $? > ${quote(options.statusFile)}` : `exec ${run}`
  tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '30', command)
  tmux('set-option', '-t', name, 'remain-on-exit', 'on')
  return Number(tmux('display-message', '-p', '-t', name, '#{pane_pid}').trim())
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  socketDir = tempDir('jit-tmux-')
  // The server exits with its last session; one idle session keeps it up between the tests.
  tmux('new-session', '-d', '-s', 'keep', 'sleep 600')
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
  verifierToken = await broker.addVerifier('gateway-line-3')
})

afterAll(async () => {
  try {
    tmux('kill-server')
  } catch {
    // no sessions left
  }
  await broker.stop()
  cleanup(broker.dataDir, alice, socketDir)
})

const env = () => ({ JIT_HOME: alice, NO_COLOR: '1', PATH: process.env.PATH!, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? '', SHELL: '/bin/sh' })

describe('at a real terminal', () => {
  it('Ctrl-C reaches the command once (from the terminal), jit waits for it, revokes, and exits with its code', async () => {
    const out = tempDir()
    // The command counts the interrupts it gets: jit must not forward a second one.
    const script = `n=0; trap 'n=$((n+1))' INT; printf %s "$JIT_SESSION_ID" > ${out}/sid; printf %s "$JIT_TOKEN" > ${out}/token; while [ ! -e ${out}/stop ]; do sleep 0.1; if [ $n -gt 0 ]; then sleep 0.5; echo $n > ${out}/count; exit 130; fi; done`
    openTerminal('ctrl-c', [process.execPath, BIN, 'exec', ...access, '--', 'sh', '-c', script], env(), { statusFile: join(out, 'status') })
    const token = await waitForFile(join(out, 'token'))
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    tmux('send-keys', '-t', 'ctrl-c', 'C-c')
    const status = await waitForFile(join(out, 'status'))
    expect(Number(status)).toBe(130)
    expect(readFileSync(join(out, 'count'), 'utf8').trim()).toBe('1')
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', ended_by: 'alice', end_reason: 'command ended (exit 130)' })
    expect(tmux('capture-pane', '-p', '-t', 'ctrl-c')).toMatch(/Revoked session ses_/)
    cleanup(out)
  })

  it('closing the terminal (SIGHUP) ends a jit shell and its session', async () => {
    const out = tempDir()
    // bash, as most people's login shell; it dies of the hang-up as a shell should.
    const pid = openTerminal('hangup', [process.execPath, BIN, 'shell', ...access], { ...env(), SHELL: '/bin/bash' })
    await waitFor('the subshell prompt', () => /\$ $/m.test(tmux('capture-pane', '-p', '-t', 'hangup').trimEnd() + ' ') || tmux('capture-pane', '-p', '-t', 'hangup').includes('Type exit'))
    tmux('send-keys', '-t', 'hangup', `printf %s "$JIT_TOKEN" > ${out}/token; printf %s "$JIT_SESSION_ID" > ${out}/sid`, 'Enter')
    const token = await waitForFile(join(out, 'token'))
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    // Ctrl-C at the subshell's prompt does not end the subshell, so it must not end the session.
    tmux('send-keys', '-t', 'hangup', 'C-c')
    await new Promise((r) => setTimeout(r, 500))
    expect(alive(pid)).toBe(true)
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)

    tmux('kill-session', '-t', 'hangup') // the terminal window closes
    await waitFor('jit to exit', () => !alive(pid))
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    const row = await sessionRow(broker, sid)
    // Ended by jit itself (not the broker's heartbeat timeout) when the shell ended on the hang-up.
    // The shell's exit status is its own business: bash leaves with the status of its last command.
    expect(row).toMatchObject({ state: 'revoked', ended_by: 'alice' })
    expect(row.end_reason).toMatch(/^command ended \((SIGHUP|exit \d+)\)$/)
    cleanup(out)
  })
})
