// The post-event review as a person meets it: in a real terminal (tmux), right after a
// break-glass command exits, and again when the next jit command asks for a due review first.
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, PLC, cleanup, jit, startBroker, type TestBroker } from './harness.js'

const socket = `jit-test-${process.pid}`
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' })

let broker: TestBroker
let tess: string

beforeAll(async () => {
  broker = await startBroker()
  tess = await broker.enroll('tess', ['technician'])
})

afterAll(async () => {
  try {
    tmux('kill-server')
  } catch {
    // already gone
  }
  await broker.stop()
  cleanup(broker.dataDir, tess)
})

/** Starts a shell command in a fresh tmux window with this test's environment. */
function startInTerminal(name: string, command: string): void {
  const env = ['JIT_HOME', 'DBUS_SESSION_BUS_ADDRESS', 'PATH', 'XDG_DATA_HOME'].flatMap((key) => (process.env[key] || key === 'JIT_HOME' ? ['-e', `${key}=${key === 'JIT_HOME' ? tess : process.env[key]}`] : []))
  tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '50', ...env, `${command}; echo "EXIT=$?"; sleep 60`)
}

const screen = (name: string) => tmux('capture-pane', '-p', '-t', name, '-S', '-100')

async function waitFor(name: string, pattern: RegExp, ms = 15000): Promise<string> {
  const end = Date.now() + ms
  for (;;) {
    const text = screen(name)
    if (pattern.test(text)) return text
    if (Date.now() > end) throw new Error(`timed out waiting for ${pattern} on screen:\n${text}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function answer(name: string, question: RegExp, keys: string): Promise<void> {
  await waitFor(name, question)
  tmux('send-keys', '-t', name, '-l', keys)
  tmux('send-keys', '-t', name, 'Enter')
}

async function reviewsOf(user: string): Promise<{ answers: string | null; filed_at: string | null }[]> {
  // In the order they fell due (the stores share no row order).
  return (await broker.withStore((store) => store.query('SELECT answers, filed_at FROM reviews WHERE "user" = ? ORDER BY due_at, id', [user]))) as never
}

describe('interactive post-event review', () => {
  it('is asked for right after the break-glass command exits, and filed', async () => {
    startInTerminal('bg', `node ${BIN} break-glass --asset ${PLC} --reason "line 3 down" -- sh -c 'echo tool-ran; exit 4'`)
    await waitFor('bg', /tool-ran/)
    await answer('bg', /What was done on the asset\?/, 'restarted the PLC runtime')
    await answer('bg', /Why could the normal approval path not be used\?/, 'no shift lead answered at 03:00')
    await answer('bg', /What changed on the asset/, 'nothing persistent')
    await answer('bg', /Is a rollback needed\?/, 'n')
    await answer('bg', /Follow-up ticket/, 'WO-104300')
    const text = await waitFor('bg', /EXIT=\d+/)
    expect(text).toMatch(/Review rev_\S+ filed/)
    expect(text).toMatch(/EXIT=4/) // the command's own exit code, after the review
    const [review] = (await reviewsOf('tess'))
    expect(review.filed_at).not.toBeNull()
    expect(JSON.parse(review.answers!)).toEqual({ whatWasDone: 'restarted the PLC runtime', whyNotNormalPath: 'no shift lead answered at 03:00', changesToAsset: 'nothing persistent', rollbackNeeded: false, followUpTicket: 'WO-104300' })
  })

  it('a review left unfiled is asked for first by the next jit command at a terminal', async () => {
    // Unattended, the break-glass run cannot prompt: the review stays due.
    const unattended = await jit(['break-glass', '--asset', PLC, '--reason', 'line 3 down again', '--', 'true'], { home: tess })
    expect(unattended.code).toBe(0)
    expect(unattended.stderr).toMatch(/File the review now/)
    expect((await reviewsOf('tess')).filter((r) => r.filed_at === null)).toHaveLength(1)

    // A command that opens no session is never held up by the prompt; it only says the review is due.
    startInTerminal('look', `node ${BIN} whoami`)
    const looked = await waitFor('look', /EXIT=\d+/)
    expect(looked).toMatch(/Break-glass review rev_\S+ is due; new sessions are blocked until it is filed: jit review rev_\S+/)
    expect(looked).toMatch(/EXIT=0/)
    expect(looked).not.toMatch(/What was done/)

    startInTerminal('next', `node ${BIN} request --ticket WO-104233 --asset ${PLC} --scope diagnose --ttl 5m --reason "after the review"`)
    await answer('next', /What was done on the asset\?/, 'cleared a stuck jam sensor')
    await answer('next', /Why could the normal approval path not be used\?/, 'night shift')
    await answer('next', /What changed on the asset/, 'sensor recalibrated')
    await answer('next', /Is a rollback needed\?/, 'y')
    await answer('next', /Follow-up ticket/, '')
    const text = await waitFor('next', /EXIT=\d+/)
    expect(text).toMatch(/EXIT=0/)
    expect(text).toMatch(/Session ses_\S+: diagnose on/) // the request ran once the review was filed
    expect((await reviewsOf('tess')).every((r) => r.filed_at !== null)).toBe(true)
    expect(JSON.parse((await reviewsOf('tess'))[1].answers!)).toMatchObject({ rollbackNeeded: true, changesToAsset: 'sensor recalibrated' })
    expect((await jit(['revoke', '--all'], { home: tess })).code).toBe(0)
  })

  it('Ctrl-C at the prompt after the command: review not filed, exit 7, the command\'s result still reported', async () => {
    startInTerminal('cc', `node ${BIN} break-glass --asset ${PLC} --reason "line 3 down a third time" -- sh -c 'echo tool-ran; exit 4'`)
    await waitFor('cc', /What was done on the asset\?/)
    tmux('send-keys', '-t', 'cc', 'C-c')
    const text = await waitFor('cc', /EXIT=\d+/)
    expect(text).toMatch(/Break-glass session ses_\S+ revoked; sh exited 4\./)
    const id = /Review (rev_\S+) not filed; new sessions stay blocked; file it with jit review \1/.exec(text)?.[1]
    expect(id).toBeDefined()
    expect(text).toMatch(/EXIT=7/)
    expect(text).not.toMatch(/Unexpected error|bug in jit/)
    expect((await reviewsOf('tess')).filter((r) => r.filed_at === null)).toHaveLength(1)
  })

  it('Ctrl-D at the prompt of the next session-opening command: exit 7, nothing opened', async () => {
    startInTerminal('cd', `node ${BIN} request --ticket WO-104233 --asset ${PLC} --scope diagnose --ttl 5m --reason "blocked"`)
    await answer('cd', /What was done on the asset\?/, 'reset the drive')
    await waitFor('cd', /Why could the normal approval path not be used\?/)
    tmux('send-keys', '-t', 'cd', 'C-d')
    const text = await waitFor('cd', /EXIT=\d+/)
    expect(text).toMatch(/Review rev_\S+ not filed; new sessions stay blocked; file it with jit review rev_\S+/)
    expect(text).toMatch(/EXIT=7/)
    expect(text).not.toMatch(/Unexpected error|bug in jit|Session ses_/)
    expect((await reviewsOf('tess')).filter((r) => r.filed_at === null)).toHaveLength(1)
    expect(await broker.withStore((store) => store.sessions.list({ user: 'tess', activeOnly: true }, Date.now() / 1000))).toEqual([])
  })
})
