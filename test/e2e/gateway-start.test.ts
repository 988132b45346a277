// `jit gateway start` refuses to run on bad input, with the exit code the brief gives, and never
// takes its token from a flag value or prints it.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { GW_ASSET, frontAssets, selfSignedCert, startEchoAsset } from './gateway-helpers.js'

let broker: TestBroker
let asset: Awaited<ReturnType<typeof startEchoAsset>>
let token: string
const cert = selfSignedCert()
const dir = tempDir('jit-gw-start-')

beforeAll(async () => {
  broker = await startBroker()
  asset = await startEchoAsset()
  token = await frontAssets(broker, 'gw-line-3', [{ path: GW_ASSET, port: asset.port }])
})

afterAll(async () => {
  await asset?.close()
  await broker?.stop()
  cleanup(broker.dataDir, dir)
})

const start = (args: string[], env: Record<string, string> = {}) =>
  jit(['gateway', 'start', '--listen', '127.0.0.1:0', '--tls-cert', cert.cert, '--tls-key', cert.key, '--json', ...args], { env: { JIT_GATEWAY_TOKEN: '', ...env } })

describe('jit gateway start against an HTTPS broker', () => {
  it('trusts the broker only through --ca-file: without it, exit 5; with it, the gateway runs and announces itself', async () => {
    const brokerCert = selfSignedCert()
    const tlsBroker = await startBroker({ args: ['--tls-cert', brokerCert.cert, '--tls-key', brokerCert.key] })
    try {
      expect(tlsBroker.url).toMatch(/^https:/)
      const verifier = await frontAssets(tlsBroker, 'gw-tls', [{ path: GW_ASSET, port: asset.port }])
      const untrusted = await start(['--broker', tlsBroker.url, '--name', 'gw-tls'], { JIT_GATEWAY_TOKEN: verifier })
      expect(untrusted.code).toBe(5)
      const { startGateway } = await import('./gateway-helpers.js')
      const gateway = await startGateway(tlsBroker, { name: 'gw-tls', token: verifier, cert, args: ['--ca-file', brokerCert.cert] })
      try {
        expect(gateway.log()).toMatch(/gateway gw-tls listening on 127\.0\.0\.1:\d+ \(broker https:/)
      } finally {
        await gateway.stop()
      }
    } finally {
      await tlsBroker.stop()
      cleanup(tlsBroker.dataDir)
    }
  })
})

describe('jit gateway start on bad input', () => {
  it('without a token: exit 2, and says where a token comes from', async () => {
    const result = await start(['--broker', broker.url, '--name', 'gw-line-3'])
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/needs its verifier token/)
  })

  it('with a token the broker does not know: exit 9 (authentication failed), the token never echoed', async () => {
    const result = await start(['--broker', broker.url, '--name', 'gw-line-3'], { JIT_GATEWAY_TOKEN: 'jitv_not-a-real-token' })
    expect(result.code).toBe(9)
    expect(result.stdout + result.stderr).not.toContain('jitv_not-a-real-token')
  })

  it('with another gateway\'s name: exit 2, naming the token\'s own', async () => {
    const file = join(dir, 'token')
    writeFileSync(file, token, { mode: 0o600 })
    const result = await start(['--broker', broker.url, '--name', 'gw-elsewhere', '--token-file', file])
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/belongs to "gw-line-3", not to gateway "gw-elsewhere"/)
    expect(result.stdout + result.stderr).not.toContain(token)
  })

  it('a broker that is not there: exit 5', async () => {
    const result = await start(['--broker', 'http://127.0.0.1:9', '--name', 'gw-line-3'], { JIT_GATEWAY_TOKEN: token })
    expect(result.code).toBe(5)
    expect(result.stdout + result.stderr).not.toContain(token)
  })

  it('plain HTTP to a broker off loopback, a bad --listen, a missing certificate: exit 2', async () => {
    expect((await start(['--broker', 'http://broker.plant-a:8443', '--name', 'gw-line-3'], { JIT_GATEWAY_TOKEN: token })).code).toBe(2)
    expect((await jit(['gateway', 'start', '--broker', broker.url, '--name', 'gw-line-3', '--listen', 'nowhere', '--tls-cert', cert.cert, '--tls-key', cert.key], { env: { JIT_GATEWAY_TOKEN: token } })).code).toBe(2)
    expect((await jit(['gateway', 'start', '--broker', broker.url, '--name', 'gw-line-3', '--tls-cert', join(dir, 'missing.pem'), '--tls-key', cert.key], { env: { JIT_GATEWAY_TOKEN: token } })).code).toBe(2)
  })
})
