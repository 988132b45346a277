// The cross-process lock: separate node processes doing read-modify-write of one file under it
// lose no update, and a lock left by a process that died is broken instead of blocking forever.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { withFileLock } from '../../../../src/cli/config/file-lock.js'

const LOCK_MODULE = resolve(import.meta.dirname, '../../../../src/cli/config/file-lock.ts')

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jit-lock-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** A process that appends its tag to a JSON list n times, each a read-modify-write with a pause in the middle. */
function worker(tag: string, n: number): Promise<number | null> {
  // The source runs as is (Node transforms the types); its imports name .js files that are .ts here.
  const script = `
    import { readFileSync, writeFileSync } from 'node:fs'
    import { registerHooks } from 'node:module'
    registerHooks({ resolve: (spec, ctx, next) => { try { return next(spec, ctx) } catch (e) { if (spec.endsWith('.js')) return next(spec.slice(0, -3) + '.ts', ctx); throw e } } })
    const { withFileLock } = await import(${JSON.stringify(LOCK_MODULE)})
    const file = ${JSON.stringify(join(dir, 'list.json'))}
    for (let i = 0; i < ${n}; i++) {
      await withFileLock(file + '.lock', async () => {
        const list = JSON.parse(readFileSync(file, 'utf8'))
        await new Promise((r) => setTimeout(r, 2))
        writeFileSync(file, JSON.stringify([...list, ${JSON.stringify(tag)} + i]))
      })
    }`
  const child = spawn(process.execPath, ['--experimental-transform-types', '--no-warnings', '--input-type=module', '-e', script], { stdio: 'inherit' })
  return new Promise((done) => child.once('exit', done))
}

describe('file lock', () => {
  it('six processes appending at once lose and duplicate nothing', async () => {
    writeFileSync(join(dir, 'list.json'), '[]')
    const codes = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((tag) => worker(tag, 15)))
    expect(codes).toEqual([0, 0, 0, 0, 0, 0])
    const list = JSON.parse(readFileSync(join(dir, 'list.json'), 'utf8')) as string[]
    expect(list).toHaveLength(90)
    expect(new Set(list).size).toBe(90)
  }, 60_000)

  it('breaks a lock whose holder died, and one held far too long', async () => {
    const lock = join(dir, 'x.lock')
    const dead = spawn(process.execPath, ['-e', '0'])
    await new Promise((r) => dead.once('exit', r))
    writeFileSync(lock, `${dead.pid} gone`)
    expect(await withFileLock(lock, () => 'got it', { timeoutMs: 2000 })).toBe('got it')

    writeFileSync(lock, `${process.ppid} alive-but-stuck`)
    const old = (Date.now() - 120_000) / 1000
    utimesSync(lock, old, old)
    expect(await withFileLock(lock, () => 'got it again', { timeoutMs: 2000, staleMs: 60_000 })).toBe('got it again')
  })

  it('waits for a live holder and gives up with a clear error after the timeout', async () => {
    const lock = join(dir, 'y.lock')
    writeFileSync(lock, `${process.ppid} holding`)
    await expect(withFileLock(lock, () => 'never', { timeoutMs: 300 })).rejects.toThrow(/has held .*y\.lock/)
    expect(readFileSync(lock, 'utf8')).toBe(`${process.ppid} holding`)
  })
})
