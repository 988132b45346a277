// The README's "A session, by hand" runs as written: the block is read from README.md and run by
// sh in a fresh folder, with real CLI processes, a real broker and the real keychain. Two things
// are set around it, not in it: `npx jit` resolves to this checkout's jit (as npx does in the
// repository folder, where the block is meant to run), and port 8443 becomes a free port so
// parallel runs do not collide.
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/broker/store/open.js'
import { BIN, ROOT, cleanup, tempDir } from './harness.js'

const work = tempDir('jit-readme-')
const systemNpx = ['/usr/bin/npx', '/usr/local/bin/npx'].find(existsSync)
let brokerPid: number | undefined

afterAll(() => {
  if (brokerPid !== undefined) {
    try {
      process.kill(brokerPid, 'SIGTERM') // only if the block failed before its own kill
    } catch {
      // already stopped by the block
    }
  }
  cleanup(work)
})

/** The shell block that follows the readme-by-hand marker in README.md. */
function byHandBlock(readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): string {
  const marker = readme.indexOf('<!-- readme-by-hand:')
  if (marker < 0) throw new Error('README.md has no readme-by-hand marker')
  const match = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker))
  if (!match) throw new Error('no sh block after the readme-by-hand marker')
  return match[1]
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => done(port))
    })
  })
}

describe('README: a session, by hand', () => {
  it('runs as written: diagnose at once, control after a shift lead approves, collected, revoked', async () => {
    const port = await freePort()
    const block = byHandBlock().replaceAll('8443', String(port))
    // The repository files the block names.
    mkdirSync(join(work, 'docs'))
    cpSync(join(ROOT, 'docs/example-policy.yaml'), join(work, 'docs/example-policy.yaml'))
    const shims = join(work, '.shims')
    mkdirSync(shims)
    writeFileSync(join(shims, 'npx'), `#!/bin/sh\n[ "$1" = jit ] || { echo "unexpected: npx $*" >&2; exit 127; }\nshift\nexec "${process.execPath}" "${BIN}" "$@"\n`)
    chmodSync(join(shims, 'npx'), 0o755)

    const child = spawn('sh', ['-c', `${block}\necho "block-done broker=$BROKER_PID" >&2\n`], {
      cwd: work,
      env: { ...process.env, PATH: `${shims}:${process.env.PATH}`, NO_COLOR: '1', JIT_HOME: join(work, '.jit-nobody') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => {
      stderr += d
      brokerPid ??= Number(/broker=(\d+)/.exec(stderr)?.[1]) || undefined
    })
    const code = await new Promise((done) => child.on('close', done))
    const context = `stdout:\n${stdout}\nstderr:\n${stderr}\nbroker.log:\n${existsSync(join(work, 'broker.log')) ? readFileSync(join(work, 'broker.log'), 'utf8') : ''}`

    expect(code, context).toBe(0)
    expect(stderr, context).not.toMatch(/✖|Unexpected error|command not found|unexpected: npx/)
    expect(stderr).toContain('docs/example-policy.yaml is valid')
    expect(stdout).toMatch(/diagnose on plant-a\/line-3\/cell-2\/plc-07 until \d{4}-/)
    expect(stderr).toMatch(/Request req_\S+ is waiting for approval/)
    expect(stdout).toMatch(/│ req_\S+ │ tess │ WO-104233 │ plant-a\/line-3\/cell-2\/plc-07 │ control │/)
    expect(stderr).toMatch(/Session ses_\S+: control on plant-a\/line-3\/cell-2\/plc-07 for \d+m\d\ds, credential cached in the keychain/)
    expect(stderr).toMatch(/Revoked 1 session|Revoked ses_/)

    // What the broker recorded: tess's control session, approved by sam, revoked by tess.
    const store = await openStore({ dataDir: join(work, 'broker-data') })
    try {
      const [control] = (await store.sessions.list({ user: 'tess', activeOnly: false }, Date.now() / 1000)).filter((s) => s.scope === 'control')
      expect(control).toMatchObject({ state: 'revoked', endedBy: 'tess' })
      expect(await store.requests.get(control.requestId)).toMatchObject({ state: 'approved', decidedBy: 'sam', decisionComment: 'line stopped, go ahead' })
    } finally {
      await store.close()
    }
    // The block stopped its broker (it closes gracefully on SIGTERM).
    const alive = () => {
      try {
        process.kill(brokerPid!, 0)
        return true
      } catch {
        return false
      }
    }
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100))
    expect(alive()).toBe(false)
  }, 120_000) // some twenty CLI processes one after the other: past 30 s on a busy machine

  it.runIf(systemNpx !== undefined)('npx jit on the system\'s npm prints no engine warnings, even when that Node is older', () => {
    // The first npx in a checkout links it into npm's cache and runs its prepare script, which is
    // `npm run build`: dist/ deleted and rebuilt under every other test running at that moment.
    // The build is this run's; npx must only resolve and start it.
    const env = { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin', npm_config_ignore_scripts: 'true' }
    const result = execFileSync('sh', ['-c', `"${systemNpx}" jit --version 2>&1`], { cwd: ROOT, encoding: 'utf8', env })
    expect(result).toMatch(/^jit\/\d+\.\d+\.\d+ \S+ node-v24\./)
    expect(result).not.toMatch(/EBADENGINE|npm warn/i)
  })
})
