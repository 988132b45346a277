// The first complete path, every part real: broker process on loopback, CLI processes, the
// Secret Service keychain (gnome-keyring in a private D-Bus session), SQLite on disk.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, keychainHas, startBroker, tempDir, type TestBroker } from './harness.js'

let broker: TestBroker
let alice: string
let bob: string
let verifierToken: string
const access = ['--ticket', 'WO-104233', '--asset', PLC]

function deviceIdOf(home: string): string {
  return JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).profiles.default.deviceId
}

function storeCounts(): Promise<{ requests: number; sessions: number; audit: number }> {
  return broker.withStore(async (store) => {
    const count = async (table: string) => Number((await store.query(`SELECT count(*) AS n FROM ${table}`))[0].n)
    return { requests: await count('requests'), sessions: await count('sessions'), audit: await count('audit') }
  })
}

beforeAll(async () => {
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
  bob = await broker.enroll('bob', ['shift-lead'])
  verifierToken = await broker.addVerifier('gateway-line-3')
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, alice, bob)
})

describe('request → approval by a second user → exec → revoke', () => {
  it('waits for bob, runs the command with the credential, and revokes when it exits', async () => {
    const pending = await jit(['request', ...access, '--scope', 'control', '--ttl', '20m', '--reason', 'recipe change', '--no-wait', '--json'], { home: alice })
    expect(pending.code).toBe(8)
    const requestId = pending.json().error.requestId as string
    expect(requestId).toMatch(/^req_/)

    const queue = await jit(['requests', '--pending', '--json'], { home: bob })
    expect(queue.json().requests.map((r: { id: string }) => r.id)).toContain(requestId)

    // alice waits (long-poll) while bob approves.
    const waiting = jit(['request', ...access, '--scope', 'control', '--ttl', '20m', '--reason', 'recipe change', '--json'], { home: alice })
    await new Promise((r) => setTimeout(r, 1500))
    const secondQueue = (await jit(['requests', '--pending', '--json'], { home: bob })).json().requests as { id: string; user: string }[]
    const second = secondQueue.find((r) => r.id !== requestId && r.user === 'alice')!
    expect(second).toBeDefined()
    const approved = await jit(['approve', second.id, '--comment', 'ok, line stopped', '--json'], { home: bob })
    expect(approved.code).toBe(0)
    expect(approved.json().request.state).toBe('approved')

    const granted = await waiting
    expect(granted.code).toBe(0)
    const session = granted.json().session as { id: string; asset: string; scope: string; cacheAllowed: boolean }
    expect(session).toMatchObject({ asset: PLC, scope: 'control' })
    expect(granted.stdout).not.toMatch(/eyJ/) // no token in request output

    // The credential lives in the Secret Service while the session does.
    const account = `cred:${deviceIdOf(alice)}:${session.id}`
    expect(await keychainHas(account)).toBe(true)

    const raw = await jit(['credential', session.id, '--format', 'raw'], { home: alice })
    const token = raw.stdout.trim()
    const jwks = createRemoteJWKSet(new URL(`${broker.url}/.well-known/jwks.json`))
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: broker.url, audience: PLC })
    expect(protectedHeader.alg).toBe('EdDSA')
    expect(payload).toMatchObject({ sub: 'alice', aud: PLC, sid: session.id, scope: 'control', ticket: 'WO-104233', kind: 'standard' })
    expect(payload.exp! - payload.iat!).toBe(20 * 60)
    expect((payload.cnf as { jkt: string }).jkt).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(typeof payload.jti).toBe('string')
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)

    const revoked = await jit(['revoke', session.id, '--json'], { home: alice })
    expect(revoked.code).toBe(0)
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect(await keychainHas(account)).toBe(false)
    // The first, never-approved request is still pending; cancel it.
    expect((await jit(['cancel', requestId, '--json'], { home: alice })).json().request.state).toBe('cancelled')
  })

  it('jit exec passes the credential, keeps it in the keychain only while running, revokes on exit', async () => {
    const out = tempDir()
    const script = `printf %s "$JIT_TOKEN" > ${out}/token; printf %s "$JIT_SESSION_ID" > ${out}/sid; exit 0`
    const result = await jit(['exec', ...access, '--scope', 'diagnose', '--ttl', '10m', '--', 'sh', '-c', script], { home: alice })
    expect(result.code).toBe(0)
    const token = readFileSync(join(out, 'token'), 'utf8')
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    expect(token.split('.')).toHaveLength(3)
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect(await keychainHas(`cred:${deviceIdOf(alice)}:${sid}`)).toBe(false)
    cleanup(out)
  })
})

describe('revoke however the command ends; its exit code passes through', () => {
  const cases: { name: string; script: string; code: number; signal?: NodeJS.Signals }[] = [
    { name: 'exit 0', script: 'exit 0', code: 0 },
    { name: 'exit 7', script: 'exit 7', code: 7 },
    { name: 'killed by SIGTERM', script: 'kill -TERM $$; sleep 5', code: 143 },
    { name: 'SIGTERM sent to jit is forwarded', script: 'trap "exit 42" TERM; sleep 10 >/dev/null 2>&1 & wait', code: 42, signal: 'SIGTERM' },
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const out = tempDir()
      const script = `printf %s "$JIT_TOKEN" > ${out}/token; ${c.script}`
      const result = await jit(['exec', ...access, '--scope', 'diagnose', '--ttl', '10m', '--', 'sh', '-c', script], {
        home: alice,
        onSpawn: (child) => {
          if (c.signal) setTimeout(() => child.kill(c.signal), 2500)
        },
      })
      expect(result.code).toBe(c.code)
      expect(result.stderr).toMatch(/Revoked session ses_/)
      const token = readFileSync(join(out, 'token'), 'utf8')
      expect((await introspect(broker, token, verifierToken)).active).toBe(false)
      cleanup(out)
    })
  }
})

describe('denials', () => {
  it('a request no rule allows exits 3 and lists every reason', async () => {
    const result = await jit(['request', ...access, '--scope', 'diagnose', '--ttl', '5h', '--reason', 'x', '--json'], { home: alice })
    expect(result.code).toBe(3)
    const error = result.json().error
    expect(error.code).toBe('policy-denied')
    expect(error.reasons).toContain('rule line3-diagnose allows at most 2h; 5h was asked')
  })

  it('nobody approves their own request; vendors approve nothing, whatever their roles', async () => {
    const pending = await jit(['request', ...access, '--scope', 'control', '--reason', 'x', '--no-wait', '--json'], { home: alice })
    const id = pending.json().error.requestId
    const self = await jit(['approve', id, '--json'], { home: alice })
    expect(self.code).toBe(3)
    expect(self.json().error.reasons).toContain('nobody approves or denies their own request')
    const vendor = await broker.enroll('vic', ['shift-lead'], 'acme-automation')
    const byVendor = await jit(['approve', id, '--json'], { home: vendor })
    expect(byVendor.code).toBe(3)
    expect(byVendor.json().error.reasons).toContain('vendors approve nothing')
    const stored = (await broker.withStore((store) => store.requests.get(id)))!
    expect(stored.state).toBe('pending')
    expect(stored.approvals).toEqual([])
    await jit(['cancel', id], { home: alice })
    cleanup(vendor)
  })

  it('a denial by the approver ends the wait with exit 4', async () => {
    const waiting = jit(['request', ...access, '--scope', 'control', '--reason', 'x', '--json'], { home: alice })
    await new Promise((r) => setTimeout(r, 1500))
    const [request] = (await jit(['requests', '--pending', '--json'], { home: bob })).json().requests
    expect((await jit(['deny', request.id, '--reason', 'line is running'], { home: bob })).code).toBe(0)
    const result = await waiting
    expect(result.code).toBe(4)
    expect(result.json().error.message).toMatch(/denied by bob: line is running/)
  })
})

describe('bad input changes nothing', () => {
  const bad: { name: string; args: string[] }[] = [
    { name: 'malformed ticket', args: ['--ticket', 'fix-it', '--asset', PLC, '--ttl', '30m'] },
    { name: 'unknown asset', args: ['--ticket', 'WO-104233', '--asset', 'plant-a/line-9/cell-1/plc-99', '--ttl', '30m'] },
    { name: 'asset path with bad characters', args: ['--ticket', 'WO-104233', '--asset', '../../etc/passwd', '--ttl', '30m'] },
    { name: 'TTL of 0', args: ['--ticket', 'WO-104233', '--asset', PLC, '--ttl', '0m'] },
    { name: 'TTL of a year', args: ['--ticket', 'WO-104233', '--asset', PLC, '--ttl', '365d'] },
    { name: 'TTL of "soon"', args: ['--ticket', 'WO-104233', '--asset', PLC, '--ttl', 'soon'] },
    { name: 'unknown flag', args: ['--ticket', 'WO-104233', '--asset', PLC, '--colour', 'red'] },
  ]
  for (const c of bad) {
    it(`${c.name}: exit 2`, async () => {
      const before = (await storeCounts())
      const result = await jit(['request', ...c.args, '--scope', 'diagnose', '--reason', 'x', '--json'], { home: alice })
      expect(result.code).toBe(2)
      expect(result.json().error.message.length).toBeGreaterThan(10)
      expect((await storeCounts())).toEqual(before)
    })
  }

  it('broken JSON and wrong types to the API: HTTP 400 problem+json, nothing stored', async () => {
    const before = (await storeCounts())
    for (const body of ['{"ticket":', '[]', '{"ticket":"WO-104233","asset":1}']) {
      const response = await fetch(`${broker.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/)
      const problem = (await response.json()) as { detail: string; stack?: string }
      expect(problem.detail).toBeTruthy()
      expect(problem.stack).toBeUndefined()
    }
    expect((await storeCounts())).toEqual(before)
  })
})

describe('device authentication', () => {
  it('a replayed signed request is refused', async () => {
    const { SystemKeychain } = await import('../../src/cli/keychain/keychain.js')
    const { loadDeviceKey, deviceAssertion } = await import('../../src/cli/device/device-key.js')
    const key = await loadDeviceKey(new SystemKeychain(), deviceIdOf(alice))
    const header = deviceAssertion(key, 'GET', '/v1/whoami', undefined, broker.url)
    const first = await fetch(`${broker.url}/v1/whoami`, { headers: { authorization: header } })
    expect(first.status).toBe(200)
    const replay = await fetch(`${broker.url}/v1/whoami`, { headers: { authorization: header } })
    expect(replay.status).toBe(401)
    expect(((await replay.json()) as { detail: string }).detail).toMatch(/replay/)
  })

  it('an assertion for one call cannot be used for another, nor with a forged key', async () => {
    const { SystemKeychain } = await import('../../src/cli/keychain/keychain.js')
    const { loadDeviceKey, deviceAssertion, newDeviceKeyPair } = await import('../../src/cli/device/device-key.js')
    const key = await loadDeviceKey(new SystemKeychain(), deviceIdOf(alice))
    const other = await fetch(`${broker.url}/v1/sessions`, { headers: { authorization: deviceAssertion(key, 'GET', '/v1/whoami', undefined, broker.url) } })
    expect(other.status).toBe(401)
    const forged = deviceAssertion({ deviceId: key.deviceId, privateKey: newDeviceKeyPair().privateKey }, 'GET', '/v1/whoami', undefined, broker.url)
    expect((await fetch(`${broker.url}/v1/whoami`, { headers: { authorization: forged } })).status).toBe(401)
  })

  it('an unenrolled device exits 9', async () => {
    const stranger = tempDir()
    const result = await jit(['whoami', '--broker', broker.url, '--json'], { home: stranger })
    expect(result.code).toBe(9)
    expect(result.json().error.nextSteps.join(' ')).toMatch(/jit login/)
    cleanup(stranger)
  })

  it('a used enrollment code cannot enroll a second device', async () => {
    const { enrollmentCode } = await import('../../src/broker/admin.js')
    const { code } = await broker.withStore((store) => enrollmentCode(store, 'alice', 600))
    const first = tempDir()
    const second = tempDir()
    expect((await jit(['login', '--broker', broker.url], { home: first, env: { JIT_ENROLL_CODE: code } })).code).toBe(0)
    const again = await jit(['login', '--broker', broker.url, '--json'], { home: second, env: { JIT_ENROLL_CODE: code } })
    expect(again.code).toBe(9)
    cleanup(first, second)
  })

  it('the audit chain over everything above verifies', async () => {
    // The whole log is for admin and security (and the operator, on the data folder).
    expect((await jit(['audit', 'verify', '--json'], { home: alice })).code).toBe(3)
    const result = await jit(['audit', 'verify', ...broker.storeArgs, '--json'], { home: alice })
    expect(result.code).toBe(0)
    expect(result.json()).toMatchObject({ ok: true })
    expect(result.json().events).toBeGreaterThan(20)
  })
})
