// Real parts for the sections: a broker child process on loopback with an auto-approving
// policy, users and devices enrolled the way an operator and `jit login` do it, and CLI
// processes timed from spawn to exit.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KeyObject } from 'node:crypto'
import type { Pool } from 'undici'
import { addAsset, addUser, addVerifier, enrollmentCode } from '../dist/src/broker/admin.js'
import { openStore, type StoreChoice } from '../dist/src/broker/store/open.js'
import { deviceAssertion, newDeviceKeyPair } from '../dist/src/cli/device/device-key.js'
import { median, nowMs, percentile } from './lib.ts'

export const ASSET = 'plant-a/line-3/cell-2/plc-07'
export const TICKET = 'WO-104233'

/** One auto-approving rule (no approval) and a ticket format: the broker's fast path. */
export const AUTO_APPROVE_POLICY = `version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
rules:
  - name: line3-diagnose
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [read, diagnose]
    max_ttl: 2h
`

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function removeDirs(...dirs: string[]): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
}

export interface ProcessResult {
  code: number | null
  ms: number
  stdout: string
  stderr: string
}

/** Runs a process to its end; ms is wall time from spawn to exit. */
export function timedRun(command: string, args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const start = nowMs()
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, ms: nowMs() - start, stdout, stderr }))
  })
}

export interface Contender {
  name: string
  command: string
  args: string[]
  env?: Record<string, string | undefined>
  /** Throws if a run did not do what it should (wrong exit code, missing output). */
  check?: (result: ProcessResult) => void
}

/**
 * Runs every contender `runs` times, interleaved (A B C A B C ...) so that a burst of noise on
 * a shared machine hits all of them alike; the first `warmup` rounds are thrown away (disk
 * cache, keyring daemon). Returns the wall times of each, by name.
 */
export async function interleavedRuns(contenders: Contender[], runs: number, warmup: number): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
  for (let round = 0; round < warmup + runs; round++) {
    // Rotate who goes first, so no contender always runs right after another.
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(round + i) % contenders.length]
      const result = await timedRun(contender.command, contender.args, contender.env)
      if (result.code !== 0) throw new Error(`${contender.name} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`)
      contender.check?.(result)
      if (round >= warmup) times.get(contender.name)!.push(result.ms)
    }
  }
  return times
}

export const medianOf = (times: Map<string, number[]>, name: string) => median(times.get(name)!)

export interface BrokerProcess {
  url: string
  /** The key files, and the SQLite file unless the broker runs on PostgreSQL. */
  dataDir: string
  policyFile: string
  /** What devices sign their calls for: the broker's URL, or the --issuer its plant shares. */
  issuer: string
  child: ChildProcess
  stop(): Promise<void>
  /** Adds a technician, makes an enrollment code, and enrolls a fresh device key over HTTP. */
  enrollDevice(user: string): Promise<{ deviceId: string; privateKey: KeyObject }>
  /** Adds an asset (running) to the inventory. */
  addAsset(path: string): Promise<void>
  /** Adds a technician and runs a real `jit login` into a config folder of its own. */
  loginCli(user: string, root: string): Promise<string>
  /** Adds a verifier (what a gateway authenticates as) and returns its bearer token. */
  addVerifier(name: string): Promise<string>
}

/** A PostgreSQL database the broker keeps its state in; several brokers may share one. */
export interface BrokerDatabase {
  url: string
  /** Given to the broker as JIT_DATABASE_PASSWORD, never in its argv. */
  password: string
}

export interface BrokerOptions {
  database?: BrokerDatabase
  /** One issuer for every broker of a plant (`jit broker start --issuer`). */
  issuer?: string
  /** Another broker's data folder: its key files are copied, as an operator does for a second broker. */
  keysFrom?: string
}

/** The operator's side of a broker's store, as `jit admin` does it (the same functions), on SQLite or PostgreSQL. */
interface Operator {
  addAsset(path?: string): Promise<void>
  /** A technician with a fresh enrollment code for them. */
  addTechnician(user: string): Promise<string>
  addVerifier(name: string): Promise<string>
}

function storeOperator(choice: StoreChoice): Operator {
  const withStore = async <T>(fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> => {
    const store = await openStore(choice)
    try {
      return await fn(store)
    } finally {
      await store.close()
    }
  }
  return {
    addAsset: (path = ASSET) => withStore(async (store) => void (await addAsset(store, { path, attributes: { state: 'running' } }))),
    addTechnician: (user) =>
      withStore(async (store) => {
        await addUser(store, { name: user, roles: ['technician'], disabled: false })
        return (await enrollmentCode(store, user, 600)).code as string
      }),
    addVerifier: (name) => withStore(async (store) => (await addVerifier(store, name)).token),
  }
}

const STOP_GRACE_MS = 10_000

/** The broker as operators run it: `jit broker start` in a process of its own, so the load generator never shares its event loop. */
export async function startBrokerProcess(root: string, policy = AUTO_APPROVE_POLICY, options: BrokerOptions = {}): Promise<BrokerProcess> {
  const dataDir = tempDir('jit-bench-broker-')
  const policyFile = join(dataDir, 'policy.yaml')
  writeFileSync(policyFile, policy)
  if (options.keysFrom) for (const file of readdirSync(options.keysFrom).filter((f) => f.endsWith('.pem'))) copyFileSync(join(options.keysFrom, file), join(dataDir, file))
  // The operator's password file, as `jit admin --database-password-file` reads it (never in argv).
  const passwordFile = options.database ? join(dataDir, 'operator-db-password') : undefined
  if (options.database && passwordFile) writeFileSync(passwordFile, `${options.database.password}\n`, { mode: 0o600 })
  const operator = storeOperator({ dataDir, database: options.database?.url, passwordFile })
  await operator.addAsset()
  const args = [join(root, 'bin/run.js'), 'broker', 'start', '--data', dataDir, '--policy', policyFile, '--listen', '127.0.0.1:0']
  if (options.database) args.push('--database', options.database.url)
  if (options.issuer) args.push('--issuer', options.issuer)
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...(options.database ? { JIT_DATABASE_PASSWORD: options.database.password } : {}) },
  })
  let log = ''
  child.stderr!.on('data', (d) => (log += d))
  const exited = once(child, 'exit')
  let url: string
  try {
    url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (d) => {
        out += d
        const line = out.split('\n').find((l) => l.startsWith('http'))
        if (line) resolve(line.trim())
      })
      child.once('exit', (code) => reject(new Error(`broker${options.database ? ' on PostgreSQL' : ''} exited ${code}: ${log.trim()}`)))
    })
  } catch (error) {
    removeDirs(dataDir)
    throw error
  }
  const issuer = options.issuer ?? url

  return {
    url,
    dataDir,
    policyFile,
    issuer,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        // A broker that does not stop on SIGTERM is a bug to see, not a bench run that never ends.
        const timer = setTimeout(() => {
          process.stderr.write(`bench: the broker at ${url} did not exit within ${STOP_GRACE_MS / 1000} s of SIGTERM; killed\n`)
          child.kill('SIGKILL')
        }, STOP_GRACE_MS)
        await exited
        clearTimeout(timer)
      }
      removeDirs(dataDir)
    },
    async enrollDevice(user) {
      const code = await operator.addTechnician(user)
      const { privateKey, publicJwk } = newDeviceKeyPair()
      const response = await fetch(`${url}/v1/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code, publicKey: publicJwk, deviceName: `bench-${user}` }),
      })
      if (response.status !== 201) throw new Error(`enroll of ${user} failed: HTTP ${response.status} ${await response.text()}`)
      const { deviceId } = (await response.json()) as { deviceId: string }
      return { deviceId, privateKey }
    },
    async loginCli(user, projectRoot) {
      const code = await operator.addTechnician(user)
      const home = tempDir(`jit-bench-${user}-`)
      const result = await timedRun(process.execPath, [join(projectRoot, 'bin/run.js'), 'login', '--broker', url, '--json'], { JIT_HOME: home, JIT_ENROLL_CODE: code })
      if (result.code !== 0) throw new Error(`jit login of ${user} failed (${result.code}): ${result.stderr}${result.stdout}`)
      return home
    },
    addVerifier: (name) => operator.addVerifier(name),
    addAsset: (path) => operator.addAsset(path),
  }
}

// ---- grant load: POST /v1/requests on the auto-approving rule, answered with a grant ----------

export const GRANT_PATH = '/v1/requests'
export const grantBody = (asset = ASSET) => JSON.stringify({ ticket: TICKET, asset, scope: 'diagnose', ttlSeconds: 1800, reason: 'bench' })
export const GRANT_BODY = grantBody()

/** Where the load goes: a connection pool to one broker and an enrolled device key for its issuer. */
export interface GrantTarget {
  pool: Pool
  key: { deviceId: string; privateKey: KeyObject; audience: string }
  /** The request it sends (default GRANT_BODY: the one asset). */
  body?: string
}

export interface GrantRun {
  grantsPerSecond: number
  p50: number
  p99: number
  grants: number
  /** CPU time (user + system) of the given broker processes per grant, in µs: steadier than rates on a shared machine. */
  cpuMicros?: number
  /** How busy the machine's cores were during the run (0 to 1): near 1, the load had no core left to grow into. */
  machineBusy?: number
}

/**
 * `total` requests, `concurrency` in flight at any time, each on a fresh signed assertion. With
 * several targets the workers are dealt out among them in turn, so the load splits evenly.
 */
export async function driveGrants(targets: GrantTarget[], concurrency: number, total: number, brokerPids: (number | undefined)[] = []): Promise<GrantRun> {
  // Signed before the clock starts: the broker still verifies each one (signature, body hash,
  // replay), but the load generator's own signing does not eat the cores the broker needs.
  // Each target gets enough for the whole run: a faster broker's workers take more than their share.
  const assertions = targets.map((t) => Array.from({ length: total }, () => deviceAssertion(t.key as never, 'POST', GRANT_PATH, t.body ?? GRANT_BODY, t.key.audience)))
  const latencies: number[] = []
  let next = 0
  const worker = async (index: number) => {
    const target = index % targets.length
    const { pool, body = GRANT_BODY } = targets[target]
    while (next < total) {
      next++
      const authorization = assertions[target].pop()!
      const start = nowMs()
      const response = await pool.request({ path: GRANT_PATH, method: 'POST', headers: { 'content-type': 'application/json', authorization }, body })
      const text = await response.body.text()
      latencies.push(nowMs() - start)
      if (response.statusCode !== 201 || !text.includes('"credential":"')) throw new Error(`expected a grant (201), got HTTP ${response.statusCode}: ${text.slice(0, 300)}`)
    }
  }
  const cpuOf = () => brokerPids.map(processCpuMs).reduce<number | undefined>((sum, ms) => (sum === undefined || ms === undefined ? undefined : sum + ms), 0)
  const cpuBefore = brokerPids.length > 0 ? cpuOf() : undefined
  const machineBefore = machineCpuTicks()
  const start = nowMs()
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)))
  const seconds = (nowMs() - start) / 1000
  const cpuAfter = brokerPids.length > 0 ? cpuOf() : undefined
  const machineAfter = machineCpuTicks()
  const machineBusy = machineBefore && machineAfter ? (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total) : undefined
  const cpuMicros = cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1000) / total
  return { grantsPerSecond: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), grants: total, cpuMicros, machineBusy }
}

/** Arguments of `jit request` on the auto-approving rule. */
export const requestArgs = (ttl = '30m') => ['request', '--ticket', TICKET, '--asset', ASSET, '--scope', 'diagnose', '--ttl', ttl, '--reason', 'bench']

/** True when a real OS keychain answers (the bench runs inside scripts/with-keyring.sh). */
export async function keychainAvailable(): Promise<boolean> {
  try {
    const { AsyncEntry } = await import('@napi-rs/keyring')
    const answered = new AsyncEntry('jit', 'probe').getPassword().then(() => true)
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref())
    return await Promise.race([answered, timeout])
  } catch {
    return false
  }
}

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc is missing. */
export function processCpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND
  } catch {
    return undefined
  }
}

/** The machine's CPU time so far, busy and in all, in ticks (the first line of /proc/stat); undefined off Linux. */
export function machineCpuTicks(): { busy: number; total: number } | undefined {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number)
    const total = ticks.slice(0, 8).reduce((sum, n) => sum + n, 0)
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    return { busy: total - ticks[3] - ticks[4], total }
  } catch {
    return undefined
  }
}

// Linux reports CPU time in USER_HZ ticks, 100 per second on every common build.
const CLOCK_TICKS_PER_SECOND = 100
