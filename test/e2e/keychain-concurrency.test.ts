// Several jit processes at once against one real Secret Service: ten workers keep opening and
// ending cached sessions (`jit exec -- true`) while `jit sessions` lists them in a loop. Listing
// reads the session index, not the keychain, and every change to the cache happens under a lock
// shared by the processes: no crash, no spurious error, nothing left behind.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enrollmentCode, addUser } from '../../src/broker/admin.js'
import { SERVICE } from '../../src/cli/keychain/keychain.js'
import { PLC, cleanup, jit, startBroker, tempDir, type CliResult, type TestBroker } from './harness.js'
import { startPrivateKeyring, type PrivateKeyring } from './private-keyring.js'
import { deviceIdOf } from './revocation-helpers.js'

const DURATION_MS = 30_000
const WORKERS = 10

let broker: TestBroker
let keyring: PrivateKeyring
let home: string

beforeAll(async () => {
  broker = await startBroker()
  keyring = await startPrivateKeyring()
  const { code } = await broker.withStore(async (store) => {
    await addUser(store, { name: 'dana', roles: ['technician'], disabled: false })
    return enrollmentCode(store, 'dana', 600)
  })
  home = tempDir('jit-dana-')
  const login = await jit(['login', '--broker', broker.url], { home, env: { ...keyring.env, JIT_ENROLL_CODE: code } })
  expect(login.code, login.stderr).toBe(0)
})

afterAll(async () => {
  await keyring.stop()
  await broker.stop()
  cleanup(broker.dataDir, home)
})

const describeRun = (what: string, r: CliResult) => `${what}: exit ${r.code ?? r.signal}\n${r.stderr}${r.stdout.slice(0, 500)}`

describe('many jit processes share one keychain', () => {
  it(`${WORKERS} workers running jit exec -- true while jit sessions loops: no crash, no spurious error`, async () => {
    const deadline = Date.now() + DURATION_MS
    const failures: string[] = []
    const sessionIds: string[] = []
    let execs = 0
    let listings = 0
    const worker = async () => {
      while (Date.now() < deadline) {
        const r = await jit(['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--json', '--', 'true'], { home, env: keyring.env })
        execs++
        if (r.code !== 0) failures.push(describeRun('exec', r))
        else sessionIds.push(r.json().sessionId)
      }
    }
    const lister = async () => {
      while (Date.now() < deadline) {
        const r = await jit(['sessions', '--json'], { home, env: keyring.env })
        listings++
        if (r.code !== 0 || r.stderr.trim() !== '') failures.push(describeRun('sessions', r))
        else expect(Array.isArray(r.json().sessions)).toBe(true)
      }
    }
    await Promise.all([lister(), ...Array.from({ length: WORKERS }, worker)])

    expect(failures).toEqual([])
    expect(execs).toBeGreaterThanOrEqual(WORKERS)
    expect(listings).toBeGreaterThan(3)
    // Every session ended and took its cached credential with it: the index is empty and the
    // keychain holds none of them.
    expect(existsSync(join(home, 'cached-sessions.json')) ? JSON.parse(readFileSync(join(home, 'cached-sessions.json'), 'utf8')) : []).toEqual([])
    const { AsyncEntry } = await import('@napi-rs/keyring')
    Object.assign(process.env, keyring.env)
    const device = deviceIdOf(home)
    for (const id of sessionIds.slice(0, 20)) {
      expect(await new AsyncEntry(SERVICE, `cred:${device}:${id}`, { linux: { store: 'secret-service' } }).getPassword()).toBeNull()
    }
  }, 90_000)
})
