// Security properties tried the way an attacker on the plant network or a careless insider
// would, against a real broker process on loopback, the real CLI and the real keychain.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURE_POLICY, PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'

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
    const deviceId = JSON.parse(readFileSync(join(tess, 'config.json'), 'utf8')).profiles.default.deviceId
    const key = await loadDeviceKey(new SystemKeychain(), deviceId)
    const body = JSON.stringify({ ticket: 'WO-104233', asset: PLC, scope: 'diagnose', ttlSeconds: 600, reason: 'r' })
    const forFake = deviceAssertion(key, 'POST', '/v1/requests', body, 'http://127.0.0.1:1')
    const replayed = await fetch(`${broker.url}/v1/requests`, { method: 'POST', headers: { authorization: forFake, 'content-type': 'application/json' }, body })
    expect(replayed.status).toBe(401)
    expect(((await replayed.json()) as { detail: string }).detail).toMatch(/another broker/)
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
