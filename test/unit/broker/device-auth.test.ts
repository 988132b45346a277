// Device assertions against the broker's verifier, on a real store, with the clock moved.
import { sign } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../../src/broker/api-error.js'
import type { BrokerContext } from '../../../src/broker/context.js'
import { authenticateDevice } from '../../../src/broker/device-auth.js'
import { deviceAssertion, newDeviceKeyPair, type DeviceKey } from '../../../src/cli/device/device-key.js'
import { testContext, type TestContext } from './test-context.js'

let t: TestContext
let ctx: BrokerContext
let key: DeviceKey
const ISSUER = 'http://broker.test'

beforeEach(async () => {
  t = await testContext('version: 1\nrules: []\n')
  ctx = t.ctx
  const pair = newDeviceKeyPair()
  key = { deviceId: (await t.actor('tess', ['technician'], pair.publicJwk)).deviceId, privateKey: pair.privateKey }
})

afterEach(() => {
  vi.useRealTimers()
  t.close()
})

const auth = (header: string, method = 'GET', url = '/v1/whoami', body?: string) => () => authenticateDevice(ctx, header, method, url, body)

describe('device assertions', () => {
  it('a fresh assertion authenticates the device\'s user once', async () => {
    const header = deviceAssertion(key, 'GET', '/v1/whoami', undefined, ISSUER)
    expect((await auth(header)()).user.name).toBe('tess')
    await expect(auth(header)()).rejects.toThrow(/replay/)
  })

  it('an assertion older than a minute (plus skew) is refused, naming the clock, the offset and the broker\'s time', async () => {
    t.clock.now = Math.floor(t.clock.now / 1000) * 1000 // whole seconds, so the offset is exact
    const header = deviceAssertion(key, 'GET', '/v1/whoami', undefined, ISSUER, t.clock.now)
    t.clock.now += 95_000
    await expect(auth(header)()).rejects.toThrow(/clock is 95s behind the broker's clock .*outside the time the broker accepts/)
    const error = await auth(header)().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).extra).toMatchObject({ offsetSeconds: -95, brokerTime: new Date(t.clock.now).toISOString() })
    expect((error as ApiError).extra.nextSteps!.join(' ')).not.toMatch(/jit login/)
  })

  it('an assertion from a clock far in the future is refused', async () => {
    vi.useFakeTimers({ now: t.clock.now + 10 * 60_000, toFake: ['Date'] })
    const header = deviceAssertion(key, 'GET', '/v1/whoami', undefined, ISSUER)
    vi.useRealTimers()
    await expect(auth(header)()).rejects.toThrow(/clock is (599|600)s ahead of the broker's clock/)
  })

  it('is bound to method, path and body', async () => {
    await expect(auth(deviceAssertion(key, 'GET', '/v1/whoami', undefined, ISSUER), 'POST')()).rejects.toThrow(/another call/)
    await expect(auth(deviceAssertion(key, 'GET', '/v1/whoami', undefined, ISSUER), 'GET', '/v1/sessions')()).rejects.toThrow(/another call/)
    await expect(auth(deviceAssertion(key, 'POST', '/v1/requests', '{"scope":"read"}', ISSUER), 'POST', '/v1/requests', '{"scope":"control"}')()).rejects.toThrow(/body/)
  })

  it('is bound to the broker it was made for: one made for another broker is refused', async () => {
    // What a fake broker a user was pointed at (--broker) would capture and replay here.
    await expect(auth(deviceAssertion(key, 'GET', '/v1/whoami', undefined, 'https://fake-broker.example'))()).rejects.toThrow(/another broker/)
    await expect(auth(deviceAssertion(key, 'GET', '/v1/whoami', undefined, `${ISSUER}/`))()).rejects.toThrow(/another broker/)
    expect((await auth(deviceAssertion(key, 'GET', '/v1/whoami', undefined, ISSUER))()).user.name).toBe('tess')
  })

  it('a signature by another key, an unknown device or a deregistered one is refused', async () => {
    await expect(auth(deviceAssertion({ ...key, privateKey: newDeviceKeyPair().privateKey }, 'GET', '/v1/whoami', undefined, ISSUER))()).rejects.toThrow(/signature/)
    await expect(auth(deviceAssertion({ ...key, deviceId: 'dev_nobody' }, 'GET', '/v1/whoami', undefined, ISSUER))()).rejects.toThrow(/not enrolled/)
    await t.ctx.store.devices.revoke(key.deviceId)
    await expect(auth(deviceAssertion(key, 'GET', '/v1/whoami', undefined, ISSUER))()).rejects.toThrow(/deregistered/)
  })

  it('a validly signed assertion with another alg, another typ or a critical extension is refused', async () => {
    // The device's own claims and key: only the header differs from what jit makes.
    const made = deviceAssertion(key, 'GET', '/v1/whoami', undefined, ISSUER).split(' ')[1]
    const header = JSON.parse(Buffer.from(made.split('.')[0], 'base64url').toString()) as Record<string, unknown>
    expect(header).toEqual({ alg: 'EdDSA', typ: 'jit-device+jwt', kid: key.deviceId })
    const resigned = (head: Record<string, unknown>) => {
      const input = `${Buffer.from(JSON.stringify(head)).toString('base64url')}.${made.split('.')[1]}`
      return `JIT-Device ${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`
    }
    for (const head of [{ ...header, alg: 'none' }, { ...header, alg: 'HS256' }, { ...header, typ: 'JWT' }, { ...header, typ: 'jit-pop+jwt' }, { ...header, crit: ['htm'] }]) {
      await expect(auth(resigned(head))(), JSON.stringify(head)).rejects.toThrow(/malformed/)
    }
    await expect(auth(`JIT-Device ${made.split('.').slice(0, 2).join('.')}.`)()).rejects.toThrow(/malformed/)
    // The same header re-signed passes: the refusals above are the header's.
    expect((await auth(resigned(header))()).user.name).toBe('tess')
  })

  it('garbage in the header is refused, never thrown as anything but an auth failure', async () => {
    for (const header of ['', 'Bearer x', 'JIT-Device', 'JIT-Device a.b', 'JIT-Device a.b.c', 'JIT-Device e30.e30.AAAA']) {
      await expect(auth(header)()).rejects.toThrow(expect.objectContaining({ status: 401, code: 'auth-failed' }))
    }
  })
})
