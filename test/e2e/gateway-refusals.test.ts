// What the gateway refuses, and that refusing never costs it its health: a token copied to another
// device, a session for another asset, a scope the endpoint does not allow, a forged token, and
// bad input on the tunnel protocol (garbage, a half-open handshake, a huge frame). After each, a
// proper tunnel still works. Real broker, real gateway process, real TCP asset.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect as tcpConnect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signJwt } from '../../src/util/jws.js'
import { encodeFrame } from '../../src/wire/gateway.js'
import { signPossessionProof } from '../../src/wire/proof-of-possession.js'
import { cleanup, jit, startBroker, type TestBroker } from './harness.js'
import { GW_ASSET, OTHER_ASSET, deviceKeyOf, expectNoEcho, frontAssets, probe, rawTunnel, selfSignedCert, startConnect, startEchoAsset, startGateway, type TestGateway } from './gateway-helpers.js'

let broker: TestBroker
let gateway: TestGateway
let asset: Awaited<ReturnType<typeof startEchoAsset>>
let alice: string
let aliceKey: KeyObject
let token: string
let sessionId: string

beforeAll(async () => {
  broker = await startBroker()
  asset = await startEchoAsset()
  const verifier = await frontAssets(broker, 'gw-line-3', [{ path: GW_ASSET, port: asset.port }, { path: OTHER_ASSET, port: asset.port, scopes: ['read'] }])
  gateway = await startGateway(broker, { name: 'gw-line-3', token: verifier, cert: selfSignedCert() })
  alice = await broker.enroll('alice', ['technician'])
  aliceKey = await deviceKeyOf(alice)
  const requested = await jit(['request', '--ticket', 'WO-104233', '--asset', GW_ASSET, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'gateway refusals', '--json'], { home: alice })
  expect(requested.code).toBe(0)
  sessionId = requested.json().request.sessionId as string
  const credential = await jit(['credential', sessionId, '--format', 'raw'], { home: alice })
  token = credential.stdout.trim()
  expect(token.split('.')).toHaveLength(3)
})

afterAll(async () => {
  await gateway?.stop()
  await asset?.close()
  await broker?.stop()
  cleanup(broker.dataDir, alice)
})

const jtiOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).jti as string

/** A proof's header with the public key it names replaced by `key`'s (the signature is left as it was). */
function withPublicKeyOf(proof: string, key: KeyObject): string {
  const [head, claims, signature] = proof.split('.')
  const { x } = createPublicKey(key).export({ format: 'jwk' }) as { x: string }
  const header = { ...JSON.parse(Buffer.from(head, 'base64url').toString()), jwk: { kty: 'OKP', crv: 'Ed25519', x } }
  return `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${claims}.${signature}`
}

/** One handshake over the raw protocol; returns the gateway's answer. */
async function handshake(options: { asset: string; token: string; key: KeyObject; jwkKey?: KeyObject }): Promise<Record<string, unknown>> {
  const tunnel = await rawTunnel(gateway.address)
  const binding = { challenge: tunnel.challenge.nonce, verifier: tunnel.challenge.gateway, token: options.token, jti: jtiOf(options.token), asset: options.asset, nowEpoch: Date.now() / 1000 }
  const signed = signPossessionProof(options.key, binding)
  const proof = options.jwkKey ? withPublicKeyOf(signed, options.jwkKey) : signed
  tunnel.socket.write(encodeFrame({ type: 'open', asset: options.asset, token: options.token, proof }))
  const reply = await tunnel.reply()
  if (reply === 'closed') throw new Error('closed without an answer')
  if (reply.type === 'ok') {
    tunnel.socket.write('still me\n')
    const echoed = await new Promise<string>((ok) => tunnel.socket.once('data', (d) => ok(String(d))))
    expect(echoed).toBe('still me\n')
  }
  tunnel.socket.destroy()
  return reply
}

async function gatewayStillServes(): Promise<void> {
  expect(gateway.process.exitCode).toBeNull()
  expect((await handshake({ asset: GW_ASSET, token, key: aliceKey })).type).toBe('ok')
}

describe('the gateway opens nothing without proof', () => {
  it('the owner\'s device, over the raw protocol: ok (the control case)', async () => {
    expect(await handshake({ asset: GW_ASSET, token, key: aliceKey })).toMatchObject({ type: 'ok' })
  })

  it('the broker\'s record of the gateway\'s check says possession was proven (the gateway relays the proof)', async () => {
    expect(await handshake({ asset: GW_ASSET, token, key: aliceKey })).toMatchObject({ type: 'ok' })
    const checks = (await broker.withStore((store) => store.auditLog.events({ sessionId }))).filter((e) => e.type === 'session.verified' && e.actor === 'verifier:gw-line-3')
    expect(checks.length).toBeGreaterThan(0)
    expect(checks.map((e) => e.data)).toEqual(checks.map(() => expect.objectContaining({ active: true, possession: true })))
  })

  it('a token copied to another device opens nothing', async () => {
    const mallory = generateKeyPairSync('ed25519').privateKey
    expect(await handshake({ asset: GW_ASSET, token, key: mallory })).toMatchObject({ type: 'refused', code: 'no-proof' })
    // Presenting the owner's public key does not help without its private half.
    expect(await handshake({ asset: GW_ASSET, token, key: mallory, jwkKey: aliceKey })).toMatchObject({ type: 'refused', code: 'no-proof' })
  })

  it('a session for asset A opens nothing on asset B', async () => {
    expect(await handshake({ asset: OTHER_ASSET, token, key: aliceKey })).toMatchObject({ type: 'refused', code: 'wrong-asset' })
    expect(await handshake({ asset: 'plant-a/line-9/cell-1/plc-01', token, key: aliceKey })).toMatchObject({ type: 'refused', code: 'wrong-asset' })
  })

  it('a token the broker did not sign opens nothing', async () => {
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
    const forged = signJwt({ ...claims, scope: 'control' }, generateKeyPairSync('ed25519').privateKey, { typ: 'JWT', kid: JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid })
    expect(await handshake({ asset: GW_ASSET, token: forged, key: aliceKey })).toMatchObject({ type: 'refused', code: 'bad-token' })
  })

  it('a token re-signed by the broker\'s own key under another alg, another typ or a critical extension opens nothing', async () => {
    const brokerKey = createPrivateKey(readFileSync(join(broker.dataDir, 'signing-key.pem')))
    const [head, body] = token.split('.')
    const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as Record<string, unknown>
    const resigned = (h: Record<string, unknown>) => {
      const input = `${Buffer.from(JSON.stringify(h)).toString('base64url')}.${body}`
      return `${input}.${sign(null, Buffer.from(input), brokerKey).toString('base64url')}`
    }
    // The same header re-signed is the token itself (Ed25519 is deterministic): the control case.
    expect(resigned(header)).toBe(token)
    expect(await handshake({ asset: GW_ASSET, token: resigned(header), key: aliceKey })).toMatchObject({ type: 'ok' })
    for (const h of [{ ...header, alg: 'none' }, { ...header, alg: 'HS256' }, { ...header, typ: 'jit-audit-checkpoint+jwt' }, { ...header, crit: ['exp'] }, { ...header, kid: 'not-the-brokers' }]) {
      expect(await handshake({ asset: GW_ASSET, token: resigned(h), key: aliceKey }), JSON.stringify(h)).toMatchObject({ type: 'refused', code: 'bad-token' })
    }
    await gatewayStillServes()
  })

  it('a revoked session opens nothing, even with the right key', async () => {
    const requested = await jit(['request', '--ticket', 'WO-104233', '--asset', GW_ASSET, '--scope', 'read', '--ttl', '10m', '--reason', 'to revoke', '--json'], { home: alice })
    sessionId = requested.json().request.sessionId as string
    const revokedToken = (await jit(['credential', sessionId, '--format', 'raw'], { home: alice })).stdout.trim()
    expect(await handshake({ asset: GW_ASSET, token: revokedToken, key: aliceKey })).toMatchObject({ type: 'ok' })
    expect((await jit(['revoke', sessionId], { home: alice })).code).toBe(0)
    expect(await handshake({ asset: GW_ASSET, token: revokedToken, key: aliceKey })).toMatchObject({ type: 'refused', code: 'inactive' })
  })

  it('a scope the endpoint does not allow is refused; jit connect says why', async () => {
    const connect = await startConnect(alice, [OTHER_ASSET, '--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m'])
    try {
      await expectNoEcho(connect.port)
      expect(connect.stderr()).toMatch(/scope diagnose is not allowed on this endpoint/)
    } finally {
      connect.process.kill('SIGTERM')
      await connect.exited
    }
    const allowed = await startConnect(alice, [OTHER_ASSET, '--ticket', 'WO-104233', '--scope', 'read', '--ttl', '10m'])
    try {
      expect(await (await probe(allowed.port)).roundTrip('read ok\n')).toBe('read ok\n')
    } finally {
      allowed.process.kill('SIGTERM')
      await allowed.exited
    }
  })
})

describe('bad input on the tunnel protocol is refused without harm', () => {
  it('garbage instead of a frame', async () => {
    const tunnel = await rawTunnel(gateway.address)
    tunnel.socket.write(Buffer.from('00000005GET / HTTP/1.1\r\n\r\n'))
    expect(await tunnel.reply()).toMatchObject({ type: 'refused', code: 'bad-frame' })
    await gatewayStillServes()
  })

  it('a frame that is not JSON, and JSON that is not an open frame', async () => {
    const notJson = await rawTunnel(gateway.address)
    const body = Buffer.from('{not json')
    const head = Buffer.alloc(4)
    head.writeUInt32BE(body.length)
    notJson.socket.write(Buffer.concat([head, body]))
    expect(await notJson.reply()).toMatchObject({ type: 'refused', code: 'bad-frame' })
    const wrongShape = await rawTunnel(gateway.address)
    wrongShape.socket.write(encodeFrame({ type: 'open', asset: 42, token: ['x'] }))
    expect(await wrongShape.reply()).toMatchObject({ type: 'refused', code: 'bad-frame' })
    await gatewayStillServes()
  })

  it('a huge frame is refused on its length alone', async () => {
    const tunnel = await rawTunnel(gateway.address)
    const head = Buffer.alloc(4)
    head.writeUInt32BE(0xffffffff)
    tunnel.socket.write(head)
    const started = performance.now()
    expect(await tunnel.reply()).toMatchObject({ type: 'refused', code: 'bad-frame' })
    expect(performance.now() - started).toBeLessThan(2000)
    await gatewayStillServes()
  })

  it('a half-open handshake is dropped after the handshake timeout', async () => {
    const tunnel = await rawTunnel(gateway.address)
    tunnel.socket.write(Buffer.from([0, 0])) // half a length prefix, then silence
    const plain = tcpConnect({ host: '127.0.0.1', port: Number(gateway.address.split(':')[1]) }) // no TLS at all
    plain.on('error', () => {})
    const plainClosed = new Promise((ok) => plain.once('close', ok))
    const answer = await tunnel.reply()
    expect(answer === 'closed' || answer.code === 'bad-frame').toBe(true)
    await plainClosed
    await gatewayStillServes()
  }, 30_000)
})
