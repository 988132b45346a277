// A gateway given several brokers (`jit gateway start --broker URL1,URL2`) keeps following the
// revocation stream when the broker it follows dies: the long poll moves to the next broker at
// once, the stream never goes stale, and a revocation still cuts a live tunnel. Real processes;
// the first "broker" is a relay in front of the real one that the test kills (broker-relay.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, startBroker, type TestBroker } from './harness.js'
import { startRelay, type Relay } from './broker-relay.js'
import { GW_ASSET, frontAssets, probe, selfSignedCert, startConnect, startEchoAsset, startGateway, type TestConnect, type TestGateway } from './gateway-helpers.js'
import { waitFor } from './revocation-helpers.js'
import { freePort } from './ssh-server.js'

const access = ['--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m']
let broker: TestBroker
let asset: Awaited<ReturnType<typeof startEchoAsset>>
let alice: string
let relay: Relay
let gateway: TestGateway
let connect: TestConnect | undefined
const cert = selfSignedCert()

beforeAll(async () => {
  broker = await startBroker()
  asset = await startEchoAsset()
  alice = await broker.enroll('alice', ['technician'])
  relay = await startRelay(Number(new URL(broker.url).port), await freePort())
  const token = await frontAssets(broker, 'gw-failover', [{ path: GW_ASSET, port: asset.port }])
  gateway = await startGateway({ url: `${relay.url},${broker.url}` }, { name: 'gw-failover', token, cert, args: ['--stale-after', '3s'] })
}, 60_000)

afterAll(async () => {
  if (connect) {
    connect.process.kill('SIGTERM')
    await connect.exited
  }
  await gateway?.stop()
  await relay?.kill()
  await asset?.close()
  await broker?.stop()
  cleanup(broker.dataDir, alice)
})

describe('a gateway with two brokers', () => {
  it('follows the stream at the second broker when the first dies, and still cuts a revoked session', async () => {
    const followingFirst = (line: string) => line.startsWith('GET /v1/gateway/revocations?since=')
    await waitFor('the gateway to follow the stream through the first broker', () => relay.forwarded.some(followingFirst), 10_000)
    connect = await startConnect(alice, [GW_ASSET, ...access])
    const tunnel = await probe(connect.port)
    expect(await tunnel.roundTrip('MODBUS READ 40001\n')).toBe('MODBUS READ 40001\n')

    await relay.kill()
    // Longer than --stale-after: a gateway stuck on the dead broker would call the stream lost.
    await new Promise((r) => setTimeout(r, 4000))
    expect(gateway.log()).not.toMatch(/revocation stream lost/)
    expect(tunnel.isClosed()).toBe(false)

    expect((await jit(['revoke', connect.sessionId], { home: alice })).code).toBe(0)
    await waitFor('the tunnel to be cut', () => tunnel.isClosed(), 5000)
  })
})
