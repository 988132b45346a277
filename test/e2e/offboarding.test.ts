// Offboarding end to end: a real broker, the real CLI and keychain. An admin (device-authenticated)
// disables a user and revokes a stolen laptop over the API; the operator does the same on the data
// folder while the broker runs; each ends the sessions at once, for every verifier.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, startBroker, type TestBroker } from './harness.js'

let broker: TestBroker
let ada: string
let verifierToken: string
const access = ['--ticket', 'WO-104233', '--asset', PLC]

beforeAll(async () => {
  broker = await startBroker()
  ada = await broker.enroll('ada', ['admin'])
  verifierToken = await broker.addVerifier('gateway-line-3')
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, ada)
})

async function openSession(home: string): Promise<{ id: string; token: string }> {
  const opened = await jit(['request', ...access, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'r', '--json'], { home })
  expect(opened.code, opened.stderr).toBe(0)
  const id = opened.json().session.id as string
  return { id, token: (await jit(['credential', id, '--format', 'raw'], { home })).stdout.trim() }
}

describe('offboarding over the admin API', () => {
  it('jit logout cancels the device\'s pending requests; an approver finds nothing left to approve', async () => {
    const lena = await broker.enroll('lena', ['technician'])
    const waiting = await jit(['request', ...access, '--scope', 'control', '--ttl', '10m', '--reason', 'r', '--no-wait', '--json'], { home: lena })
    expect(waiting.code).toBe(8)
    const requestId = waiting.json().error.requestId as string
    const out = await jit(['logout', '--json'], { home: lena })
    expect(out.code, out.stderr).toBe(0)
    expect((await broker.withStore((store) => store.requests.get(requestId)))?.state).toBe('cancelled')
    const lead = await broker.enroll('lee', ['shift-lead'])
    expect((await jit(['approve', requestId, '--json'], { home: lead })).code).not.toBe(0)
    cleanup(lena, lead)
  })

  it('only the admin role may; disabling a user ends their session now, cancels their pending request and refuses their device', async () => {
    const vic = await broker.enroll('vic', ['technician'])
    const { token } = await openSession(vic)
    const waiting = await jit(['request', ...access, '--scope', 'control', '--ttl', '10m', '--reason', 'r', '--no-wait', '--json'], { home: vic })
    expect(waiting.code).toBe(8)
    expect((await jit(['admin', 'user', 'disable', 'ada', '--json'], { home: vic })).code).toBe(3)

    const disabled = await jit(['admin', 'user', 'disable', 'vic', '--reason', 'contract ended', '--json'], { home: ada })
    expect(disabled.code, disabled.stdout + disabled.stderr).toBe(0)
    expect(disabled.json()).toMatchObject({ user: 'vic', requestsCancelled: [waiting.json().error.requestId] })
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect((await jit(['whoami', '--json'], { home: vic })).code).toBe(9)
    expect((await jit(['admin', 'user', 'enable', 'vic', '--json'], { home: ada })).code).toBe(0)
    expect((await jit(['whoami', '--json'], { home: vic })).code).toBe(0)
    cleanup(vic)
  })

  it('a stolen laptop: device list shows it, device revoke ends its session now and refuses its key', async () => {
    const tom = await broker.enroll('tom', ['technician'])
    const { token } = await openSession(tom)
    const listed = await jit(['admin', 'device', 'list', '--user', 'tom', '--json'], { home: ada })
    const [device] = listed.json().devices as { id: string; revokedAt?: string }[]
    expect(device.revokedAt).toBeUndefined()
    const revoked = await jit(['admin', 'device', 'revoke', device.id, '--reason', 'laptop stolen', '--json'], { home: ada })
    expect(revoked.code, revoked.stderr).toBe(0)
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect((await jit(['whoami', '--json'], { home: tom })).code).toBe(9)
    cleanup(tom)
  })

  it('verifiers: add twice is a clear error, rotate stops the old token at once, remove stops the new one', async () => {
    const again = await jit(['admin', 'verifier', 'add', 'gateway-line-3', ...broker.storeArgs, '--json'])
    expect(again.code).toBe(2)
    expect(again.json().error.message).toMatch(/already exists/)
    const sam = await broker.enroll('sam', ['technician'])
    const { token } = await openSession(sam)
    const rotated = await jit(['admin', 'verifier', 'rotate', 'gateway-line-3', '--json'], { home: ada })
    expect(rotated.code).toBe(0)
    const old = await fetch(`${broker.url}/v1/introspect`, { method: 'POST', headers: { authorization: `Bearer ${verifierToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
    expect(old.status).toBe(401)
    verifierToken = rotated.json().token
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    expect((await jit(['admin', 'verifier', 'list', '--json'], { home: ada })).json().verifiers.map((v: { name: string }) => v.name)).toContain('gateway-line-3')
    expect((await jit(['admin', 'verifier', 'remove', 'gateway-line-3', '--json'], { home: ada })).code).toBe(0)
    const gone = await fetch(`${broker.url}/v1/introspect`, { method: 'POST', headers: { authorization: `Bearer ${verifierToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
    expect(gone.status).toBe(401)
    verifierToken = await broker.addVerifier('gateway-line-4')
    cleanup(sam)
  })
})

describe('offboarding on the data folder, with the broker running', () => {
  it('disabling a user there ends their session at once for the running broker', async () => {
    const una = await broker.enroll('una', ['technician'])
    const { token } = await openSession(una)
    const disabled = await jit(['admin', 'user', 'disable', 'una', ...broker.storeArgs, '--json'])
    expect(disabled.code, disabled.stderr).toBe(0)
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect((await jit(['whoami', '--json'], { home: una })).code).toBe(9)
    const code = await jit(['admin', 'enroll-code', 'una', ...broker.storeArgs, '--json'])
    expect(code.code).toBe(0)
    expect((await jit(['admin', 'enroll-code', 'revoke', '--user', 'una', ...broker.storeArgs, '--json'])).json()).toEqual({ user: 'una', revoked: 1 })
    cleanup(una)
  })
})
