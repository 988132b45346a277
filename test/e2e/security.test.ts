// Security properties tried the way an attacker on the plant network or a careless insider
// would, against a real broker process on loopback, the real CLI and the real keychain.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURE_POLICY, PLC, cleanup, introspect, jit, startBroker, tempDir, type TestBroker } from './harness.js'

let broker: TestBroker
let policyDir: string
let tess: string
let tom: string
let lead: string
const access = ['--ticket', 'WO-104233', '--asset', PLC]

beforeAll(async () => {
  // The fixture policy, with control on line 3 exclusive.
  policyDir = tempDir('jit-policy-')
  const policy = join(policyDir, 'policy.yaml')
  writeFileSync(policy, readFileSync(FIXTURE_POLICY, 'utf8').replace('    scopes: [control]\n    max_ttl: 1h\n', '    scopes: [control]\n    max_ttl: 1h\n    exclusive: true\n'))
  expect(readFileSync(policy, 'utf8')).toMatch(/exclusive: true/)
  broker = await startBroker({ policy })
  tess = await broker.enroll('tess', ['technician'])
  tom = await broker.enroll('tom', ['technician'])
  lead = await broker.enroll('lee', ['shift-lead'])
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, policyDir, tess, tom, lead)
})

describe('device assertions are bound to the enrolled broker', () => {
  it('--broker / JIT_BROKER naming another server is refused before anything is signed for it (exit 9, naming the profile)', async () => {
    const captured: IncomingMessage[] = []
    const fake = createServer((request, response) => {
      captured.push(request)
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
    await new Promise<void>((ok) => fake.listen(0, '127.0.0.1', ok))
    const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
    try {
      for (const run of [
        () => jit(['request', ...access, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'r', '--broker', fakeUrl, '--json'], { home: tess }),
        () => jit(['whoami', '--json'], { home: tess, env: { JIT_BROKER: fakeUrl } }),
      ]) {
        const result = await run()
        expect(result.code, result.stdout + result.stderr).toBe(9)
        const error = result.json().error
        expect(error.message).toMatch(new RegExp(`enrolled with ${broker.url.replace(/[.]/g, '\\.')} \\(profile "default"\\)`))
        expect(error.nextSteps.join(' ')).toMatch(/jit login --profile/)
      }
      expect(captured).toHaveLength(0)
      // The enrolled broker named explicitly is fine.
      expect((await jit(['whoami', '--broker', broker.url, '--json'], { home: tess })).code).toBe(0)
    } finally {
      fake.close()
    }
  })

  it('an assertion captured by another server is refused by the real broker', async () => {
    const { SystemKeychain } = await import('../../src/cli/keychain/keychain.js')
    const { loadDeviceKey, deviceAssertion } = await import('../../src/cli/device/device-key.js')
    const deviceId = JSON.parse(readFileSync(join(tess, 'config.json'), 'utf8')).profiles.default.deviceId as string
    const key = await loadDeviceKey(new SystemKeychain(), deviceId)
    const body = JSON.stringify({ ticket: 'WO-104233', asset: PLC, scope: 'diagnose', ttlSeconds: 600, reason: 'r' })
    const forFake = deviceAssertion(key, 'POST', '/v1/requests', body, 'http://127.0.0.1:1')
    const replayed = await fetch(`${broker.url}/v1/requests`, { method: 'POST', headers: { authorization: forFake, 'content-type': 'application/json' }, body })
    expect(replayed.status).toBe(401)
    expect(((await replayed.json()) as { detail: string }).detail).toMatch(/another broker/)
  })
})

async function signedFetch(home: string, method: string, path: string, body?: string): Promise<Response> {
  const { SystemKeychain } = await import('../../src/cli/keychain/keychain.js')
  const { loadDeviceKey, deviceAssertion } = await import('../../src/cli/device/device-key.js')
  const deviceId = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).profiles.default.deviceId
  const key = await loadDeviceKey(new SystemKeychain(), deviceId)
  const headers: Record<string, string> = { authorization: deviceAssertion(key, method, path, body, broker.url) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  return fetch(`${broker.url}${path}`, { method, headers, body })
}

async function lastVerifiedAt(sessionId: string): Promise<string | null> {
  return (await broker.withStore((store) => store.query('SELECT last_verified_at FROM sessions WHERE id = ?', [sessionId])))[0].last_verified_at as string | null
}

describe('credentials are device-bound: introspection answers verifiers only', () => {
  it('no enrolled device (another user\'s, nor the owner\'s) can introspect; only a verifier\'s check sets "last verified"', async () => {
    const opened = await jit(['request', ...access, '--scope', 'read', '--ttl', '10m', '--reason', 'r', '--json'], { home: tess })
    expect(opened.code, opened.stderr).toBe(0)
    const sessionId = opened.json().session.id as string
    const token = (await jit(['credential', sessionId, '--format', 'raw'], { home: tess })).stdout.trim()
    const body = JSON.stringify({ token })
    for (const home of [tom, tess]) {
      const answer = await signedFetch(home, 'POST', '/v1/introspect', body)
      expect(answer.status).toBe(403)
      const problem = (await answer.json()) as { detail: string; sub?: string }
      expect(problem.detail).toMatch(/verifiers .* only/)
      expect(problem.sub).toBeUndefined()
    }
    expect((await lastVerifiedAt(sessionId))).toBeNull()
    // The owner's own live check does not count either.
    expect((await jit(['sessions', 'show', sessionId, '--json'], { home: tess })).json().liveCheck.active).toBe(true)
    expect((await lastVerifiedAt(sessionId))).toBeNull()
    const token2 = await broker.addVerifier('gateway-sec')
    expect((await introspect(broker, token, token2)).active).toBe(true)
    expect((await lastVerifiedAt(sessionId))).not.toBeNull()
    expect((await jit(['revoke', sessionId], { home: tess })).code).toBe(0)
  })
})

describe('terminal injection', () => {
  it('escape sequences in a reason are shown, not obeyed, in the approver\'s jit requests --pending', async () => {
    // Erase the line, move up, and paint a harmless-looking "read" row over a control request.
    const reason = 'tuning\x1b[2K\r\x1b[1A| req_x | read | 10m |\u202e'
    const pending = await jit(['request', ...access, '--scope', 'control', '--ttl', '10m', '--reason', reason, '--no-wait', '--json'], { home: tess })
    expect(pending.code, pending.stderr).toBe(8)
    const id = pending.json().error.requestId as string
    const shown = await jit(['requests', '--pending'], { home: lead })
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(id)
    expect(shown.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/)
    expect(shown.stdout).toContain('tuning\\x1b[2K\\x0d\\x1b[1A')
    // The data itself is kept as sent.
    expect((await jit(['requests', '--pending', '--json'], { home: lead })).json().requests.find((r: { id: string }) => r.id === id).reason).toBe(reason)
    expect((await jit(['cancel', id], { home: tess })).code).toBe(0)
  })
})

describe('proof of possession at introspection', () => {
  it('the holder\'s device key proves possession; a stolen token with another key does not', async () => {
    const { SystemKeychain } = await import('../../src/cli/keychain/keychain.js')
    const { loadDeviceKey, newDeviceKeyPair } = await import('../../src/cli/device/device-key.js')
    const { signPossessionProof } = await import('../../src/wire/proof-of-possession.js')
    const opened = await jit(['request', ...access, '--scope', 'read', '--ttl', '10m', '--reason', 'r', '--json'], { home: tess })
    const sessionId = opened.json().session.id as string
    const token = (await jit(['credential', sessionId, '--format', 'raw'], { home: tess })).stdout.trim()
    const deviceId = JSON.parse(readFileSync(join(tess, 'config.json'), 'utf8')).profiles.default.deviceId as string
    const key = await loadDeviceKey(new SystemKeychain(), deviceId)
    const verifierToken = await broker.addVerifier('gateway-pop')
    const challenge = 'x'.repeat(32)
    const ask = async (privateKey: import('node:crypto').KeyObject) => {
      const { jti, aud } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string; aud: string }
      const proof = signPossessionProof(privateKey, { token, jti, asset: aud, challenge, verifier: 'gateway-pop', nowEpoch: Date.now() / 1000 })
      const response = await fetch(`${broker.url}/v1/introspect`, { method: 'POST', headers: { authorization: `Bearer ${verifierToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ token, proof, challenge }) })
      return (await response.json()) as { active: boolean; possession?: { verified: boolean } }
    }
    expect(await ask(key.privateKey)).toMatchObject({ active: true, possession: { verified: true } })
    expect(await ask(newDeviceKeyPair().privateKey)).toMatchObject({ active: true, possession: { verified: false } })
    expect((await jit(['revoke', sessionId], { home: tess })).code).toBe(0)
  })
})

describe('one gate', () => {
  it('break-glass does not open a second control session on a PLC held exclusively', async () => {
    // The control rule needs a shift lead and is exclusive; tom gets control through it.
    const pending = await jit(['request', ...access, '--scope', 'control', '--ttl', '20m', '--reason', 'recipe change', '--no-wait', '--json'], { home: tom })
    expect(pending.code).toBe(8)
    expect((await jit(['approve', pending.json().error.requestId, '--json'], { home: lead })).code).toBe(0)
    const glass = await jit(['break-glass', '--asset', PLC, '--scope', 'control', '--reason', 'line down', '--json'], { home: tess })
    expect(glass.code, glass.stdout + glass.stderr).toBe(3)
    expect(glass.json().error.reasons.join(' ')).toMatch(/exclusive and held by tom/)
  })
})
