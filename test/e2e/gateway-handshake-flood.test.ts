// One address cannot keep everyone else out of the gateway: a bounded flood from 127.0.0.2 (all
// of 127/8 is loopback on Linux) of connections that complete TLS, take the challenge and never
// answer holds at most its own share of the handshake slots, and a valid tunnel from 127.0.0.1
// opens meanwhile. Real broker, gateway and jit connect processes; loopback only.
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, startBroker, type TestBroker } from './harness.js'
import { GW_ASSET, frontAssets, probe, selfSignedCert, startConnect, startEchoAsset, startGateway, type TestConnect, type TestGateway } from './gateway-helpers.js'
import { MAX_PENDING_HANDSHAKES, MAX_PENDING_HANDSHAKES_PER_SOURCE } from '../../src/gateway/handshake-slots.js'

/** More than every slot the gateway has: on a gateway with one global limit, the flood fills it. */
const FLOOD = MAX_PENDING_HANDSHAKES + 44

let broker: TestBroker
let gateway: TestGateway
let asset: Awaited<ReturnType<typeof startEchoAsset>>
let alice: string
let connect: TestConnect
const flood: TLSSocket[] = []

beforeAll(async () => {
  broker = await startBroker()
  asset = await startEchoAsset()
  const token = await frontAssets(broker, 'gw-flood', [{ path: GW_ASSET, port: asset.port }])
  gateway = await startGateway(broker, { name: 'gw-flood', token, cert: selfSignedCert() })
  alice = await broker.enroll('alice', ['technician'])
  connect = await startConnect(alice, [GW_ASSET, '--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m'])
})

afterAll(async () => {
  for (const socket of flood) socket.destroy()
  connect?.process.kill('SIGTERM')
  await connect?.exited
  await gateway?.stop()
  await asset?.close()
  await broker?.stop()
  cleanup(broker.dataDir, alice)
})

/** A client from `localAddress` that completes TLS and then says nothing; resolves with whether it got the challenge. */
function silentClient(localAddress: string): Promise<{ socket: TLSSocket; challenged: boolean }> {
  const [host, port] = gateway.address.split(':')
  const socket = tlsConnect({ host, port: Number(port), localAddress, rejectUnauthorized: false })
  socket.on('error', () => {})
  flood.push(socket)
  return new Promise((ok) => {
    socket.once('data', () => ok({ socket, challenged: true }))
    socket.once('close', () => ok({ socket, challenged: false }))
  })
}

describe('a handshake flood from one address', () => {
  it('holds only its own share of the slots; a valid tunnel from another address opens', async () => {
    const started = performance.now()
    const clients = await Promise.all(Array.from({ length: FLOOD }, () => silentClient('127.0.0.2')))
    // Still well inside the handshake deadline (10 s): the flood's connections hold their slots.
    const held = clients.filter((c) => c.challenged && !c.socket.destroyed)
    const tunnel = await probe(connect.port)
    expect(await tunnel.roundTrip('through the flood\n')).toBe('through the flood\n')
    expect(performance.now() - started).toBeLessThan(9000)
    expect(held.length).toBeGreaterThan(0)
    expect(held.length).toBeLessThanOrEqual(MAX_PENDING_HANDSHAKES_PER_SOURCE)
    expect(held.every((c) => !c.socket.destroyed)).toBe(true)
    tunnel.socket.destroy()
    expect(gateway.log()).toMatch(/handshakes: limit reached .* from 127\.0\.0\.2/)
  }, 30_000)
})
