// A device whose clock is off, for real: the jit process runs under libfaketime (its wall clock
// shifted; the broker's is right). Within what jit corrects (15 min) it learns the broker's time
// from the refusal and works, saying so; beyond that it exits 9 naming the clock and the measured
// offset, never advising to enroll again.
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, PLC, cleanup, startBroker, type CliResult, type TestBroker } from './harness.js'

let broker: TestBroker
let hana: string

beforeAll(async () => {
  broker = await startBroker()
  hana = await broker.enroll('hana', ['technician'])
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, hana)
})

/** jit with this computer's wall clock shifted by offset (libfaketime syntax: "-120s", "+2h"); time since boot untouched. */
function jitWithClock(offset: string, args: string[]): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn('faketime', ['-f', offset, process.execPath, BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', JIT_HOME: hana, FAKETIME_DONT_FAKE_MONOTONIC: '1', NO_FAKE_STAT: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr, json: () => JSON.parse(stdout) }))
  })
}

describe('a device clock outside the broker\'s window', () => {
  it('120 s behind and 45 s ahead: jit signs with the broker\'s time, works, and warns about the clock', async () => {
    const behind = await jitWithClock('-120s', ['sessions', '--json'])
    expect(behind.code, behind.stderr).toBe(0)
    expect(behind.stderr).toMatch(/clock is 1[12]\ds behind the broker's; jit signs its requests with the broker's time/)

    const ahead = await jitWithClock('+45s', ['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--json', '--', 'true'])
    expect(ahead.code, ahead.stderr).toBe(0)
    expect(ahead.json()).toMatchObject({ exitCode: 0, revoked: true })
    expect(ahead.stderr).toMatch(/clock is 4\ds ahead of the broker's/)
  }, 60_000)

  it('two hours behind: exit 9 naming the clock and the offset, no advice to enroll again', async () => {
    const result = await jitWithClock('-2h', ['sessions', '--json'])
    expect(result.code).toBe(9)
    const error = result.json().error
    expect(error.code).toBe('auth-failed')
    expect(error.message).toMatch(/This device's clock is 7[12]\d\ds behind the broker's clock/)
    expect(error.message).toMatch(/more than jit corrects by itself/)
    expect(Math.abs(error.offsetSeconds + 7200)).toBeLessThan(30)
    expect(Date.parse(error.brokerTime)).toBeGreaterThan(Date.now() - 60_000)
    expect(error.nextSteps.join(' ')).toMatch(/timedatectl set-ntp true/)
    expect(error.nextSteps.join(' ')).not.toMatch(/jit login/)
  }, 30_000)
})
