// End-to-end harness: a real broker process on a loopback port with a fresh data folder, real
// CLI processes, each user with a config folder of their own, and the real OS keychain. The
// broker's store is the data folder's SQLite file, or with JIT_TEST_STORE=postgres a fresh
// database on the run's PostgreSQL server (test-store.ts).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { addAsset, addUser, addVerifier, enrollmentCode } from '../../src/broker/admin.js'
import type { Store } from '../../src/broker/store/store.js'
import { SERVICE } from '../../src/cli/keychain/keychain.js'
import { expect } from 'vitest'
import { refuseInStoreIndependentFile } from './store-independent.js'
import { ON_POSTGRES, freshDatabase, openTestStore, storeArgs, type TestDatabase } from './test-store.js'

export const ROOT = resolve(import.meta.dirname, '../..')
export const BIN = join(ROOT, 'bin/run.js')
export const FIXTURE_POLICY = join(ROOT, 'test/fixtures/policy.yaml')
export const PLC = 'plant-a/line-3/cell-2/plc-07'

/**
 * The jit under test: the repository's (this Node running bin/run.js), unless a test file names a
 * single executable (and the environment it runs in) with testSingleExecutable.
 */
let underTest: { argv: string[]; env: Record<string, string> } = { argv: [process.execPath, BIN], env: {} }

export function testSingleExecutable(executable: string, env: Record<string, string>): void {
  underTest = { argv: [executable], env }
}

/** [command, ...args] that run the jit under test with these arguments, and its environment. */
export function jitProcess(args: string[], env: Record<string, string | undefined> = {}): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const [command, ...pre] = underTest.argv
  return { command, args: [...pre, ...args], env: { ...process.env, NO_COLOR: '1', ...underTest.env, ...env } }
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  json<T = any>(): T
}

export interface RunOptions {
  home?: string
  env?: Record<string, string>
  input?: string
  /** Called with the child once it runs, e.g. to send it a signal. */
  onSpawn?: (child: ChildProcess) => void
}

export function tempDir(prefix = 'jit-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function jit(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((done) => {
    const run = jitProcess(args, { ...(options.home ? { JIT_HOME: options.home } : {}), ...options.env })
    const child = spawn(run.command, run.args, { env: run.env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
    options.onSpawn?.(child)
    child.on('close', (code, signal) =>
      done({ code, signal, stdout, stderr, json: () => JSON.parse(stdout) }),
    )
  })
}

export interface TestBroker {
  url: string
  /** The key files' folder, and on SQLite the store's. */
  dataDir: string
  /** The PostgreSQL database it runs on (JIT_TEST_STORE=postgres). */
  database?: TestDatabase
  /** The flags that point `jit admin …` at this broker's store: --data, and --database on PostgreSQL. */
  storeArgs: string[]
  /** Runs fn on this broker's store, opened in the test process and closed after. */
  withStore<T>(fn: (store: Store) => Promise<T>): Promise<T>
  process: ChildProcess
  log(): string
  stop(): Promise<void>
  /** Adds a user and enrolls a device for them in a config folder of its own. */
  enroll(name: string, roles: string[], org?: string): Promise<string>
  addAsset(path: string, attributes?: Record<string, unknown>): Promise<void>
  /** Registers a verifier (an asset's gateway) and returns its introspection token. */
  addVerifier(name?: string): Promise<string>
}

/** The database of each data folder, so that a broker started again on a folder finds its data. */
const databases = new Map<string, TestDatabase>()

export interface BrokerOptions {
  policy?: string
  dataDir?: string
  port?: number
  args?: string[]
  env?: Record<string, string>
  /** Run on this PostgreSQL database whatever JIT_TEST_STORE says (several brokers on one database). */
  database?: TestDatabase
}

export async function startBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  refuseInStoreIndependentFile(expect.getState().testPath, 'starts a broker')
  const dataDir = options.dataDir ?? tempDir('jit-broker-')
  let database = options.database
  // A test that names its own --database in args has chosen its store.
  const ownDatabase = options.args?.includes('--database') ?? false
  if (ON_POSTGRES && !database && !ownDatabase) {
    database = databases.get(dataDir) ?? (await freshDatabase())
    databases.set(dataDir, database)
  }
  // One at a time: two SQLite connections of this process would deadlock, the second's busy wait
  // blocking the thread that must finish the first one's transaction.
  let turn: Promise<unknown> = Promise.resolve()
  const withStore = <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
    const run = turn.then(async () => {
      const store = await openTestStore(dataDir, database)
      try {
        return await fn(store)
      } finally {
        await store.close()
      }
    })
    turn = run.catch(() => {})
    return run
  }
  const run = jitProcess(['broker', 'start', ...storeArgs(dataDir, database), '--policy', options.policy ?? FIXTURE_POLICY, '--listen', `127.0.0.1:${options.port ?? 0}`, ...(options.args ?? [])], options.env)
  const child = spawn(run.command, run.args, { stdio: ['ignore', 'pipe', 'pipe'], env: run.env })
  let log = ''
  child.stderr.on('data', (d) => (log += d))
  const url = await new Promise<string>((ok, fail) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n').find((l) => l.startsWith('http'))
      if (line) ok(line.trim())
    })
    child.once('exit', (code) => fail(new Error(`broker exited ${code}: ${log}`)))
  })
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()))
  const broker: TestBroker = {
    url,
    dataDir,
    database,
    storeArgs: storeArgs(dataDir, database),
    withStore,
    process: child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
    async enroll(name, roles, org) {
      const code = await withStore(async (store) => {
        await addUser(store, { name, roles, org, disabled: false })
        return (await enrollmentCode(store, name, 600)).code
      })
      const home = tempDir(`jit-${name}-`)
      const result = await jit(['login', '--broker', url, '--json'], { home, env: { JIT_ENROLL_CODE: code } })
      if (result.code !== 0) throw new Error(`login of ${name} failed (${result.code ?? result.signal}, ${process.execPath}): ${result.stderr}${result.stdout}`)
      return home
    },
    async addVerifier(name = 'gateway-line-3') {
      return withStore(async (store) => (await addVerifier(store, name)).token)
    },
    async addAsset(path, attributes = { state: 'running' }) {
      await withStore((store) => addAsset(store, { path, attributes }))
    },
  }
  await broker.addAsset(PLC)
  return broker
}

export function cleanup(...dirs: string[]): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
}

/** Calls introspection as a registered verifier would. */
export async function introspect(broker: TestBroker, token: string, verifierToken: string): Promise<{ active: boolean; [k: string]: unknown }> {
  const response = await fetch(`${broker.url}/v1/introspect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${verifierToken}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  })
  return (await response.json()) as { active: boolean }
}

/** Whether the keychain holds an account: an exact lookup in the real Secret Service. */
export async function keychainHas(account: string): Promise<boolean> {
  const { AsyncEntry } = await import('@napi-rs/keyring')
  return (await new AsyncEntry(SERVICE, account).getPassword()) !== null
}
