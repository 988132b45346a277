// Real parts for the sections: a broker child process on loopback with an auto-approving
// policy, users and devices enrolled the way an operator and `jit login` do it, and CLI
// processes timed from spawn to exit.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KeyObject } from 'node:crypto'
import { addAsset, addUser, enrollmentCode, openStore } from '../dist/src/broker/admin.js'
import { SqliteAsyncStore } from '../dist/src/broker/store/sqlite-async-store.js'
import { newDeviceKeyPair } from '../dist/src/cli/device/device-key.js'
import { median, nowMs } from './lib.ts'

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
  dataDir: string
  policyFile: string
  child: ChildProcess
  stop(): Promise<void>
  /** Adds a technician, makes an enrollment code, and enrolls a fresh device key over HTTP. */
  enrollDevice(user: string): Promise<{ deviceId: string; privateKey: KeyObject }>
  /** Adds a technician and runs a real `jit login` into a config folder of its own. */
  loginCli(user: string, root: string): Promise<string>
}

/** The broker as operators run it: `jit broker start` in a process of its own, so the load generator never shares its event loop. */
export async function startBrokerProcess(root: string, policy = AUTO_APPROVE_POLICY): Promise<BrokerProcess> {
  const dataDir = tempDir('jit-bench-broker-')
  const policyFile = join(dataDir, 'policy.yaml')
  writeFileSync(policyFile, policy)
  const store = new SqliteAsyncStore(openStore(dataDir))
  try {
    await addAsset(store, { path: ASSET, attributes: { state: 'running' } })
  } finally {
    await store.close()
  }
  const child = spawn(process.execPath, [join(root, 'bin/run.js'), 'broker', 'start', '--data', dataDir, '--policy', policyFile, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  let log = ''
  child.stderr!.on('data', (d) => (log += d))
  const exited = once(child, 'exit')
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const line = out.split('\n').find((l) => l.startsWith('http'))
      if (line) resolve(line.trim())
    })
    child.once('exit', (code) => reject(new Error(`broker exited ${code}: ${log}`)))
  })

  const addTechnician = async (user: string) => {
    const admin = new SqliteAsyncStore(openStore(dataDir))
    try {
      await addUser(admin, { name: user, roles: ['technician'], disabled: false })
      return (await enrollmentCode(admin, user, 600)).code as string
    } finally {
      await admin.close()
    }
  }

  return {
    url,
    dataDir,
    policyFile,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      removeDirs(dataDir)
    },
    async enrollDevice(user) {
      const code = await addTechnician(user)
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
      const code = await addTechnician(user)
      const home = tempDir(`jit-bench-${user}-`)
      const result = await timedRun(process.execPath, [join(projectRoot, 'bin/run.js'), 'login', '--broker', url, '--json'], { JIT_HOME: home, JIT_ENROLL_CODE: code })
      if (result.code !== 0) throw new Error(`jit login of ${user} failed (${result.code}): ${result.stderr}${result.stdout}`)
      return home
    },
  }
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

// Linux reports CPU time in USER_HZ ticks, 100 per second on every common build.
const CLOCK_TICKS_PER_SECOND = 100
