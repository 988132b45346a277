// A locked keychain (screen lock, keyring timeout) on a real Secret Service: every command exits 6
// with how to unlock, never 9 and never "enroll again"; `jit login` finds out before it spends the
// one-time code. A keyring that locks while a wrapped command runs costs a warning, not the
// command's exit code, and the credential left in it is purged by the next read once unlocked.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addUser, enrollmentCode } from '../../src/broker/admin.js'
import { SERVICE } from '../../src/cli/keychain/keychain.js'
import { PLC, cleanup, introspect, jit, startBroker, tempDir, type CliResult, type TestBroker } from './harness.js'
import { startPrivateKeyring, type PrivateKeyring } from './private-keyring.js'
import { deviceIdOf, sessionRow, waitForFile } from './revocation-helpers.js'

let broker: TestBroker
let keyring: PrivateKeyring
let erin: string
let verifierToken: string

function codeFor(user: string): Promise<string> {
  return broker.withStore(async (store) => {
    await addUser(store, { name: user, roles: ['technician'], disabled: false })
    return (await enrollmentCode(store, user, 600)).code
  })
}

beforeAll(async () => {
  broker = await startBroker()
  keyring = await startPrivateKeyring()
  verifierToken = await broker.addVerifier('gateway-line-3')
  erin = tempDir('jit-erin-')
  const login = await jit(['login', '--broker', broker.url], { home: erin, env: { ...keyring.env, JIT_ENROLL_CODE: await codeFor('erin') } })
  expect(login.code, login.stderr).toBe(0)
})

afterAll(async () => {
  await keyring.stop()
  await broker.stop()
  cleanup(broker.dataDir, erin)
})

/** With --json before any `--`, so that it is jit's flag and not the wrapped command's. */
function run(args: string[], home = erin, env: Record<string, string> = {}): Promise<CliResult> {
  const dashes = args.indexOf('--')
  const withJson = dashes < 0 ? [...args, '--json'] : [...args.slice(0, dashes), '--json', ...args.slice(dashes)]
  return jit(withJson, { home, env: { ...keyring.env, ...env } })
}

function expectLocked(result: CliResult): void {
  expect(result.code, result.stderr + result.stdout).toBe(6)
  const error = result.json().error
  expect(error.code).toBe('keychain-unavailable')
  expect(error.message).toMatch(/keychain is locked/i)
  const steps = error.nextSteps.join('\n')
  expect(steps).toMatch(/gnome-keyring-daemon --replace --unlock/)
  expect(steps).toMatch(/security unlock-keychain/)
  expect(steps).toMatch(/Windows/)
  expect(result.stdout + result.stderr).not.toMatch(/enroll this device again|device key is missing/i)
}

async function keychainItem(account: string): Promise<string | null> {
  const { AsyncEntry } = await import('@napi-rs/keyring')
  Object.assign(process.env, keyring.env)
  return new AsyncEntry(SERVICE, account, { linux: { store: 'secret-service' } }).getPassword()
}

describe('a locked keychain', () => {
  it('exit 6 with how to unlock for every command; login keeps its code unspent', async () => {
    keyring.lock()
    try {
      expectLocked(await run(['sessions']))
      const exec = ['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose']
      expectLocked(await run([...exec, '--', 'true']))
      expectLocked(await run([...exec, '--no-cache', '--', 'true']))

      const frank = tempDir('jit-frank-')
      const code = await codeFor('frank')
      expectLocked(await run(['login', '--broker', broker.url], frank, { JIT_ENROLL_CODE: code }))
      expect(existsSync(join(frank, 'config.json'))).toBe(false)

      // Unlocked, the same code still enrolls the device.
      keyring.unlock()
      const again = await run(['login', '--broker', broker.url], frank, { JIT_ENROLL_CODE: code })
      expect(again.code, again.stderr + again.stdout).toBe(0)
      expect((await run(['sessions'], frank)).code).toBe(0)
      cleanup(frank)
    } finally {
      keyring.unlock()
    }
  }, 60_000)

  it('locking mid-session: the command\'s exit code stands, jit warns, the session is revoked, the next read purges the credential', async () => {
    const out = tempDir()
    const script = `printf %s "$JIT_SESSION_ID" > ${out}/sid; printf %s "$JIT_TOKEN" > ${out}/token; while [ ! -e ${out}/go ]; do sleep 0.05; done; exit 3`
    const running = run(['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--', 'sh', '-c', script])
    const token = await waitForFile(join(out, 'token'))
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    const account = `cred:${deviceIdOf(erin)}:${sid}`
    expect(await keychainItem(account)).not.toBeNull()

    keyring.lock()
    writeFileSync(join(out, 'go'), '1')
    const result = await running
    expect(result.code, result.stderr).toBe(3)
    expect(result.json()).toMatchObject({ sessionId: sid, exitCode: 3, revoked: true })
    expect(result.stderr).toMatch(/Could not remove the cached credential .*keychain is locked/i)
    expect(result.stdout + result.stderr).not.toContain(token)
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', end_reason: 'command ended (exit 3)' })

    // Still in the locked keyring; the index remembers that its session ended.
    keyring.unlock()
    expect(await keychainItem(account)).not.toBeNull()
    const index = JSON.parse(readFileSync(join(erin, 'cached-sessions.json'), 'utf8'))
    expect(index).toEqual([expect.objectContaining({ sessionId: sid, ended: true })])
    expect(JSON.stringify(index)).not.toContain(token.split('.')[2])

    // The next read of the cache (jit credential) purges it instead of handing it out.
    const read = await run(['credential', sid])
    expect(read.code).toBe(2)
    expect(read.stdout + read.stderr).not.toContain(token)
    expect(await keychainItem(account)).toBeNull()
    expect(existsSync(join(erin, 'cached-sessions.json'))).toBe(false)
    cleanup(out)
  }, 60_000)

  it('a device key truly gone from a keychain that answers: exit 9 and enroll again (the one case for that advice)', async () => {
    const kai = tempDir('jit-kai-')
    expect((await run(['login', '--broker', broker.url], kai, { JIT_ENROLL_CODE: await codeFor('kai') })).code).toBe(0)
    const { AsyncEntry } = await import('@napi-rs/keyring')
    Object.assign(process.env, keyring.env)
    expect(await new AsyncEntry(SERVICE, `device:${deviceIdOf(kai)}`, { linux: { store: 'secret-service' } }).deletePassword()).toBe(true)
    const result = await run(['sessions'], kai)
    expect(result.code).toBe(9)
    expect(result.json().error.message).toMatch(/device key is missing/)
    expect(result.json().error.nextSteps.join(' ')).toMatch(/jit login/)
    cleanup(kai)
  }, 30_000)
})
