// The keychain goes away in the middle of a wrapped session (the Secret Service stops): jit
// cannot remove the cached credential and warns about it on stderr, keeps the command's own exit
// code, never falls back to a file, and the session is revoked at the broker all the same.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addUser, enrollmentCode } from '../../src/broker/admin.js'
import { PLC, cleanup, introspect, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { startPrivateKeyring, type PrivateKeyring } from './private-keyring.js'
import { sessionRow, waitForFile } from './revocation-helpers.js'

let broker: TestBroker
let keyring: PrivateKeyring
let carol: string
let verifierToken: string

beforeAll(async () => {
  broker = await startBroker()
  keyring = await startPrivateKeyring()
  const { code } = await broker.withStore(async (store) => {
    await addUser(store, { name: 'carol', roles: ['technician'], disabled: false })
    return enrollmentCode(store, 'carol', 600)
  })
  verifierToken = await broker.addVerifier('gateway-line-3')
  carol = tempDir('jit-carol-')
  const login = await jit(['login', '--broker', broker.url], { home: carol, env: { ...keyring.env, JIT_ENROLL_CODE: code } })
  expect(login.code).toBe(0)
})

afterAll(async () => {
  await keyring.stop()
  await broker.stop()
  cleanup(broker.dataDir, carol)
})

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]))
}

describe('the keychain disappears mid-session', () => {
  it('the command\'s exit code stands, a warning says why, no plaintext anywhere, and the session revoked', async () => {
    const out = tempDir()
    const script = `printf %s "$JIT_SESSION_ID" > ${out}/sid; printf %s "$JIT_TOKEN" > ${out}/token; while [ ! -e ${out}/go ]; do sleep 0.05; done; exit 4`
    const running = jit(['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--json', '--', 'sh', '-c', script], { home: carol, env: keyring.env })
    const token = await waitForFile(join(out, 'token'))
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)

    await keyring.stop() // the Secret Service is gone while the command still runs
    const { writeFileSync } = await import('node:fs')
    writeFileSync(join(out, 'go'), '1')
    const result = await running
    expect(result.code, result.stderr).toBe(4)
    expect(result.json()).toMatchObject({ sessionId: sid, exitCode: 4, revoked: true })
    expect(result.json().cacheLeftBehind).toMatch(/keychain/i)
    expect(result.stderr).toMatch(/Could not remove the cached credential of .* from the OS keychain/)
    expect(result.stdout + result.stderr).not.toContain(token)

    // Revoked anyway, by jit (not by a heartbeat timeout), and no copy of the credential in a file.
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', ended_by: 'carol', end_reason: 'command ended (exit 4)' })
    for (const file of filesUnder(carol)) expect(readFileSync(file, 'utf8')).not.toContain(token.split('.')[2])
    cleanup(out)
  })
})
