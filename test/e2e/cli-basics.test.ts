// The CLI as a process: version, unknown commands and flags, a reader that closes the pipe early,
// and a Node too old to run it.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BIN, jit } from './harness.js'

const SYSTEM_NODE = '/usr/bin/node'
const systemNodeMajor = existsSync(SYSTEM_NODE) ? Number(execFileSync(SYSTEM_NODE, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' })) : undefined

describe('jit as a process', () => {
  it('--version names jit, its version and the Node it runs on', async () => {
    const result = await jit(['--version'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^jit\/\d+\.\d+\.\d+ \S+ node-v\d+/)
  })

  it('an unknown command or flag is a usage error (exit 2)', async () => {
    expect((await jit(['no-such-command'])).code).toBe(2)
    const flag = await jit(['request', '--bogus', '--json'])
    expect(flag.code).toBe(2)
    expect(flag.json().error.code).toBe('bad-input')
  })

  it('exits 0 without warnings when the reader closes the pipe early (jit ... | head -1)', async () => {
    const child = spawn(process.execPath, [BIN, 'sessions', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.once('data', () => child.stdout.destroy())
    const code = await new Promise((done) => child.on('close', done))
    expect(code).toBe(0)
    expect(stderr).not.toMatch(/Warning|unsettled/)
  })

  it.runIf(systemNodeMajor !== undefined && systemNodeMajor < 22)('on Node older than 22 it says what to do and exits 1', () => {
    let out = ''
    let status = 0
    try {
      execFileSync(SYSTEM_NODE, [BIN, 'sessions'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (error) {
      out = String((error as { stderr: string }).stderr)
      status = (error as { status: number }).status
    }
    expect(status).toBe(1)
    expect(out).toMatch(/jit needs Node\.js 22 or newer; this is Node 2\d\./)
    expect(out).toMatch(/npx jit/)
  })
})
