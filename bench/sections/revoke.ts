// Revoke latency: from the moment a wrapped command exits to the moment introspection, asked by a
// verifier, answers inactive. Everything is real: a broker process on loopback (SQLite, fsync on
// commit), `jit exec` processes with the keychain, a verifier polling introspection.
//
// The clock starts when the command is told to exit: the command (sh) blocks on `read`, the bench
// writes its newline and takes the time; sh exits at once. From then on the bench asks introspection
// back to back (one call in flight, each one a real, audited verification) until it says inactive.
// So the figure includes sh's exit, jit noticing it, the revoke call and the broker's commit, plus
// up to one introspection round trip of polling resolution (REVOKE_BENCH_TRACE=1 prints each
// poll). jit's own teardown (closing the client, oclif, process exit) comes after the revoke and
// is reported separately.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nowMs, percentile, type BenchOptions, type BenchRow, type Section } from '../lib.ts'
import { addVerifier, openStore } from '../../dist/src/broker/admin.js'
import { SqliteAsyncStore } from '../../dist/src/broker/store/sqlite-async-store.js'
import { ASSET, startBrokerProcess, type BrokerProcess } from '../support.ts'

const TARGET_P50_MS = 20

async function waitForFile(path: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8')
      if (text.length > 0) return text
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

interface Sample {
  /** Command exit → introspection first says inactive. */
  revokedMs: number
  /** Command exit → the jit process has exited. */
  jitExitMs: number
  polls: number
}

async function oneRun(root: string, home: string, broker: BrokerProcess, verifierToken: string, out: string): Promise<Sample> {
  rmSync(join(out, 'token'), { force: true })
  const script = `printf %s "$JIT_TOKEN" > ${out}/token; read line; exit 0`
  const child = spawn(process.execPath, [join(root, 'bin/run.js'), 'exec', '--ticket', 'WO-104233', '--asset', ASSET, '--scope', 'diagnose', '--ttl', '10m', '--', 'sh', '-c', script], {
    env: { ...process.env, NO_COLOR: '1', JIT_HOME: home },
    stdio: ['pipe', 'ignore', 'pipe'],
  })
  child.stderr!.resume()
  let jitExitAt = Number.NaN
  const jitExited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      jitExitAt = nowMs()
      resolve(code)
    }),
  )
  const token = await waitForFile(join(out, 'token'))
  const introspect = async () => {
    const response = await fetch(`${broker.url}/v1/introspect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${verifierToken}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    })
    return ((await response.json()) as { active: boolean }).active
  }
  if (!(await introspect())) throw new Error('the credential was not active while the command ran')
  const exitAt = nowMs()
  child.stdin!.end('\n')
  let polls = 0
  let revokedAt = Number.NaN
  for (;;) {
    polls++
    const t = nowMs()
    const active = await introspect()
    if (process.env.REVOKE_BENCH_TRACE) process.stderr.write(`poll ${polls}: sent at +${(t - exitAt).toFixed(1)} took ${(nowMs() - t).toFixed(1)} active=${active}\n`)
    if (!active) {
      revokedAt = nowMs()
      break
    }
    if (nowMs() - exitAt > 30_000) throw new Error('the session was not revoked within 30 s of the command exiting')
  }
  const code = await jitExited
  if (code !== 0) throw new Error(`jit exec exited ${code}`)
  return { revokedMs: revokedAt - exitAt, jitExitMs: jitExitAt - exitAt, polls }
}

const revoke: Section = async (options: BenchOptions): Promise<BenchRow[]> => {
  const root = options.root
  const runs = options.quick ? 3 : 100
  const warmup = options.quick ? 1 : 5
  const out = mkdtempSync(join(tmpdir(), 'jit-bench-revoke-out-'))
  const broker = await startBrokerProcess(root)
  let home: string | undefined
  try {
    const store = new SqliteAsyncStore(openStore(broker.dataDir))
    const verifierToken = (await addVerifier(store, 'bench-gateway')).token
    await store.close()
    try {
      home = await broker.loginCli('bench', root)
    } catch (error) {
      return [{ section: 'revoke', name: 'command exit → introspection inactive', value: Number.NaN, unit: 'ms', target: `p50 < ${TARGET_P50_MS} ms`, note: `skipped: jit login failed (is a keychain running? npm run bench runs inside one): ${(error as Error).message.split('\n')[0]}` }]
    }
    const samples: Sample[] = []
    for (let i = 0; i < warmup + runs; i++) {
      const sample = await oneRun(root, home, broker, verifierToken, out)
      if (i >= warmup) samples.push(sample)
    }
    const revoked = samples.map((s) => s.revokedMs)
    const jitExit = samples.map((s) => s.jitExitMs)
    const p50 = percentile(revoked, 50)
    const polls = percentile(samples.map((s) => s.polls), 50)
    return [
      {
        section: 'revoke',
        name: 'command exit → introspection inactive',
        value: p50,
        unit: 'ms',
        p50,
        p99: percentile(revoked, 99),
        target: `p50 < ${TARGET_P50_MS} ms`,
        met: options.quick ? undefined : p50 < TARGET_P50_MS,
        note: `${runs} runs of jit exec (keychain cache on); polled by a verifier, one introspection in flight (median ${polls} polls per run)`,
      },
      {
        section: 'revoke',
        name: 'command exit → jit process exited',
        value: percentile(jitExit, 50),
        unit: 'ms',
        p50: percentile(jitExit, 50),
        p99: percentile(jitExit, 99),
        note: 'jit revokes before its own teardown; this is the rest of the way out (not on the revocation path)',
      },
    ]
  } finally {
    await broker.stop()
    for (const dir of [home, out]) if (dir) rmSync(dir, { recursive: true, force: true })
  }
}

export default revoke
