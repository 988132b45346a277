// The gateway fails closed when it cannot follow the broker: a revocation stream lost past
// --stale-after refuses new connections (the open ones stay, unless --strict closes them too),
// and a gateway that dies or restarts keeps nothing open. Real processes; the broker is frozen
// with SIGSTOP so that nothing it holds changes while the stream is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, startBroker, type TestBroker } from './harness.js'
import { GW_ASSET, OTHER_ASSET, expectNoEcho, frontAssets, probe, selfSignedCert, startConnect, startEchoAsset, startGateway, type TestConnect, type TestGateway } from './gateway-helpers.js'
import { waitFor } from './revocation-helpers.js'

const access = ['--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m']
let broker: TestBroker
let asset: Awaited<ReturnType<typeof startEchoAsset>>
let alice: string
const cert = selfSignedCert()
const stopped: (() => Promise<unknown>)[] = []

beforeAll(async () => {
  broker = await startBroker()
  asset = await startEchoAsset()
  alice = await broker.enroll('alice', ['technician'])
})

afterAll(async () => {
  for (const stop of stopped.reverse()) await stop()
  await asset?.close()
  await broker?.stop()
  cleanup(broker.dataDir, alice)
})

async function connectTo(path: string): Promise<TestConnect> {
  const connect = await startConnect(alice, [path, ...access])
  stopped.push(async () => {
    connect.process.kill('SIGTERM')
    await connect.exited
  })
  return connect
}

async function withBrokerFrozen<T>(fn: () => Promise<T>): Promise<T> {
  broker.process.kill('SIGSTOP')
  try {
    return await fn()
  } finally {
    broker.process.kill('SIGCONT')
  }
}

describe('a gateway that has lost the revocation stream', () => {
  it('refuses new connections past --stale-after; open ones stay (not strict)', async () => {
    const token = await frontAssets(broker, 'gw-lenient', [{ path: GW_ASSET, port: asset.port }])
    const gateway = await startGateway(broker, { name: 'gw-lenient', token, cert, args: ['--stale-after', '2s'] })
    stopped.push(() => gateway.stop())
    const connect = await connectTo(GW_ASSET)
    const open = await probe(connect.port)
    expect(await open.roundTrip('before\n')).toBe('before\n')
    await withBrokerFrozen(async () => {
      await waitFor('the gateway to see the stream as lost', () => /revocation stream lost/.test(gateway.log()), 10_000)
      await expectNoEcho(connect.port)
      await waitFor('the gateway to log the refusal', () => /refused 127\.0\.0\.1:\d+: stale/.test(gateway.log()), 5000)
      expect(open.isClosed()).toBe(false)
    })
    // The open connection survived and still carries bytes once the broker is back.
    expect(await open.roundTrip('after\n')).toBe('after\n')
    await waitFor('the stream to be followed again', () => /following again/.test(gateway.log()), 10_000)
    expect(await (await probe(connect.port)).roundTrip('new\n')).toBe('new\n')
  }, 60_000)

  it('--strict also closes the open connections', async () => {
    const token = await frontAssets(broker, 'gw-strict', [{ path: OTHER_ASSET, port: asset.port }])
    const gateway = await startGateway(broker, { name: 'gw-strict', token, cert, args: ['--stale-after', '2s', '--strict'] })
    stopped.push(() => gateway.stop())
    const connect = await connectTo(OTHER_ASSET)
    const open = await probe(connect.port)
    expect(await open.roundTrip('before\n')).toBe('before\n')
    await withBrokerFrozen(async () => {
      const frozenAt = performance.now()
      const closedAt = await Promise.race([open.closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 10_000))])
      // Stale 2 s after the stream last answered (it answers every second), checked four times a second.
      expect(closedAt - frozenAt).toBeLessThan(5000)
    })
    await waitFor('the gateway to log why', () => /strict mode closes 1 connection/.test(gateway.log()), 5000)
  }, 60_000)
})

describe('a gateway that misses stream messages', () => {
  it('catches up from its last sequence number: ends committed while it was frozen close their connections when it runs again', async () => {
    const token = await frontAssets(broker, 'gw-frozen', [{ path: 'plant-a/line-3/cell-5/plc-21', port: asset.port }])
    const gateway = await startGateway(broker, { name: 'gw-frozen', token, cert })
    stopped.push(() => gateway.stop())
    const first = await connectTo('plant-a/line-3/cell-5/plc-21')
    const second = await startConnect(alice, ['plant-a/line-3/cell-5/plc-21', '--ticket', 'WO-104234', '--scope', 'read', '--ttl', '10m'])
    stopped.push(async () => {
      second.process.kill('SIGTERM')
      await second.exited
    })
    const a = await probe(first.port)
    const b = await probe(second.port)
    expect(await a.roundTrip('a\n')).toBe('a\n')
    expect(await b.roundTrip('b\n')).toBe('b\n')
    gateway.process.kill('SIGSTOP')
    try {
      // Two ends while the gateway hears nothing: the first answers its long poll in flight, the
      // second is only in the broker's table.
      for (const id of [first.sessionId, second.sessionId]) expect((await jit(['revoke', id], { home: alice })).code).toBe(0)
      await new Promise((r) => setTimeout(r, 500))
      expect(a.isClosed() || b.isClosed()).toBe(false)
    } finally {
      gateway.process.kill('SIGCONT')
    }
    const resumed = performance.now()
    await Promise.all([a.closed, b.closed])
    expect(performance.now() - resumed).toBeLessThan(2000)
    // The gateway logs after it has closed the connections; its stderr may reach us a little later.
    await waitFor('the gateway to log the second end', () => new RegExp(`session ${second.sessionId} ended \\(revoked\\)`).test(gateway.log()), 5000)
  }, 60_000)
})

describe('a gateway restart', () => {
  it('leaves nothing open: the tunnel and the asset side close, and a new gateway opens only new connections', async () => {
    const token = await frontAssets(broker, 'gw-restart', [{ path: 'plant-a/line-3/cell-4/plc-11', port: asset.port }])
    const first = await startGateway(broker, { name: 'gw-restart', token, cert })
    const connect = await connectTo('plant-a/line-3/cell-4/plc-11')
    const open = await probe(connect.port)
    expect(await open.roundTrip('before\n')).toBe('before\n')
    const assetConnectionsBefore = asset.open()
    await first.stop('SIGKILL')
    await open.closed
    await waitFor('the asset side to close', () => asset.open() < assetConnectionsBefore, 5000)
    const port = Number(first.address.split(':')[1])
    const second = await startGateway(broker, { name: 'gw-restart', token, cert, port })
    stopped.push(() => second.stop())
    expect(open.isClosed()).toBe(true)
    // The same session, through the restarted gateway: a new connection proves itself again.
    expect(await (await probe(connect.port)).roundTrip('again\n')).toBe('again\n')
  }, 60_000)
})
