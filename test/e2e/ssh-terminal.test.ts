// jit ssh at a real terminal (tmux, a server of our own) against a real sshd: an interactive login
// gets a terminal on the host (permit-pty), typing works, and leaving it or closing the terminal
// ends the session. jit runs as the pane's own process, as in a terminal window.
import { execFileSync } from 'node:child_process'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, cleanup, startBroker, tempDir, type TestBroker } from './harness.js'
import { latestSessionOf, sessionRow, waitFor } from './revocation-helpers.js'
import { startSshd, type TestSshd } from './ssh-server.js'

const JUMP = 'plant-a/line-3/cell-2/jump-01'
let broker: TestBroker
let sshd: TestSshd
let alice: string
let socketDir: string
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const tmux = (...args: string[]) => execFileSync('tmux', ['-S', join(socketDir, 'tmux.sock'), ...args], { encoding: 'utf8' })
const screen = (name: string) => tmux('capture-pane', '-p', '-t', name)

function openTerminal(name: string): void {
  const env = { JIT_HOME: alice, NO_COLOR: '1', PATH: process.env.PATH!, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? '' }
  const argv = [process.execPath, BIN, 'ssh', JUMP, '--ticket', 'WO-104233', '--scope', 'diagnose', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR']
  tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '30', `exec env ${Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ')} ${argv.map(quote).join(' ')}`)
  tmux('set-option', '-t', name, 'remain-on-exit', 'on')
}

beforeAll(async () => {
  socketDir = tempDir('jit-tmux-')
  tmux('new-session', '-d', '-s', 'keep', 'sleep 600')
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
  const caPub = await (await fetch(`${broker.url}/v1/ssh/ca.pub`)).text()
  const krl = Buffer.from(await (await fetch(`${broker.url}/v1/ssh/krl`)).arrayBuffer())
  sshd = await startSshd({ caPub, krl })
  await broker.addAsset(JUMP, { state: 'running', ssh: { host: `127.0.0.1:${sshd.port}`, principals: [userInfo().username] } })
}, 60_000)

afterAll(async () => {
  try {
    tmux('kill-server')
  } catch {
    // no sessions left
  }
  await sshd?.stop()
  await broker?.stop()
  cleanup(broker.dataDir, alice, socketDir, sshd.dir)
})

describe('jit ssh at a terminal', () => {
  it('an interactive login gets a terminal on the host; leaving it revokes the session', async () => {
    openTerminal('login')
    await waitFor('the remote shell', () => /Session ses_\S+ open/.test(screen('login')) && /[#$] ?$/m.test(screen('login')))
    tmux('send-keys', '-t', 'login', 'tty; echo HELLO-$((6*7)); exit', 'Enter')
    await waitFor('jit to revoke', () => /Revoked session ses_/.test(screen('login')))
    const shown = screen('login')
    expect(shown).toMatch(/^\/dev\/pts\/\d+$/m)
    expect(shown).toMatch(/^HELLO-42$/m)
    expect(shown).toMatch(/Revoked session ses_\S+; ssh to plant-a\/line-3\/cell-2\/jump-01 exited 0\./)
    expect((await sessionRow(broker, (await latestSessionOf(broker, 'alice'))))).toMatchObject({ state: 'revoked', end_reason: 'command ended (exit 0)' })
  })

  it('closing the terminal (SIGHUP) ends ssh and revokes the session', async () => {
    openTerminal('hangup')
    await waitFor('the remote shell', () => /Session ses_\S+ open/.test(screen('hangup')) && /[#$] ?$/m.test(screen('hangup')))
    const sid = await latestSessionOf(broker, 'alice')
    tmux('kill-session', '-t', 'hangup')
    await waitFor('the session to be revoked', async () => (await sessionRow(broker, sid)).state === 'revoked')
    expect(await sessionRow(broker, sid)).toMatchObject({ ended_by: 'alice', end_reason: expect.stringMatching(/^command ended \((exit 255|SIGHUP)\)$/) })
  })
})
