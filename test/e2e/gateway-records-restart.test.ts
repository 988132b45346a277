// Every connection has a record from the moment the gateway admits it, kept in the gateway's data
// folder until the broker has it: a gateway SIGKILLed mid-connection, restarted, sends the record
// it owed ("gateway-stopped": it never saw the end), and a gateway stopped while the broker cannot
// take a record keeps it for its next start. Real broker, gateway and jit connect processes; the
// broker is "away" behind a relay that drops the record calls (broker-relay.ts).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../src/wire/api.js'
import { cleanup, jit, startBroker, type TestBroker } from './harness.js'
import { GW_ASSET, OTHER_ASSET, frontAssets, probe, selfSignedCert, startConnect, startEchoAsset, startGateway, type TestConnect, type TestGateway } from './gateway-helpers.js'
import { startRelay } from './broker-relay.js'
import { waitFor } from './revocation-helpers.js'
import { freePort } from './ssh-server.js'

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

async function gatewayOf(name: string, token: string, again?: TestGateway): Promise<TestGateway> {
  const gateway = await startGateway(broker, { name, token, cert, ...(again ? { port: Number(again.address.split(':')[1]), dataDir: again.dataDir } : {}) })
  stopped.push(() => gateway.stop())
  return gateway
}

async function connectTo(path: string): Promise<TestConnect> {
  const connect = await startConnect(alice, [path, ...access])
  stopped.push(async () => {
    connect.process.kill('SIGTERM')
    await connect.exited
  })
  return connect
}

const recordsOf = async (sessionId: string, type: string): Promise<AuditEvent[]> =>
  (await broker.withStore((store) => store.auditLog.events({ sessionId }))).filter((e) => e.type === type)

const keptFile = (gateway: TestGateway, connectionId: string) => join(gateway.dataDir, 'connections', `${connectionId}.json`)
const kept = (gateway: TestGateway, connectionId: string) => JSON.parse(readFileSync(keptFile(gateway, connectionId), 'utf8')) as Record<string, Record<string, unknown> | undefined>

describe('connection records survive the gateway', () => {
  it('a gateway SIGKILLed mid-connection: the restarted gateway sends the record it owed, "gateway-stopped"', async () => {
    const token = await frontAssets(broker, 'gw-records', [{ path: GW_ASSET, port: asset.port }])
    const first = await gatewayOf('gw-records', token)
    const connect = await connectTo(GW_ASSET)
    const open = await probe(connect.port)
    expect(await open.roundTrip('before the kill\n')).toBe('before the kill\n')

    // Opened at admission: the broker has it while the connection is open, and so does the disk.
    const [opened] = await waitFor('the opened record', async () => (await recordsOf(connect.sessionId, 'gateway.connection.opened')).length > 0 && recordsOf(connect.sessionId, 'gateway.connection.opened'))
    const connectionId = opened.data.connectionId as string
    expect(opened.data).toMatchObject({ gateway: 'gw-records', sessionId: connect.sessionId, asset: GW_ASSET })
    expect(statSync(keptFile(first, connectionId)).mode & 0o777).toBe(0o600)
    expect(statSync(join(first.dataDir, 'connections')).mode & 0o777).toBe(0o700)
    // The counts are noted on disk while the connection runs (every 2 s); nothing secret is.
    await waitFor('the counts on disk', () => kept(first, connectionId).counts?.bytesToAsset === 16, 10_000)
    expect(readFileSync(keptFile(first, connectionId), 'utf8')).not.toMatch(/eyJ[\w-]+\.[\w-]+\./)

    const killedAt = Date.now()
    await first.stop('SIGKILL')
    await open.closed
    expect(await recordsOf(connect.sessionId, 'gateway.connection')).toEqual([])

    const second = await gatewayOf('gw-records', token, first)
    const [record] = await waitFor('the record of the killed connection', async () => (await recordsOf(connect.sessionId, 'gateway.connection')).length > 0 && recordsOf(connect.sessionId, 'gateway.connection'))
    expect(record.data).toMatchObject({
      gateway: 'gw-records', connectionId, sessionId: connect.sessionId, asset: GW_ASSET, from: opened.data.from, startedAt: opened.data.startedAt,
      endCause: 'gateway-stopped', recovered: true, bytesToAsset: 16, bytesFromAsset: 16,
    })
    // When it ended is not known: the record says when the killed gateway was last known to run.
    expect(Date.parse(record.data.endedAt as string)).toBeGreaterThanOrEqual(Date.parse(opened.data.startedAt as string))
    expect(Date.parse(record.data.endedAt as string)).toBeLessThanOrEqual(killedAt)
    // Sent once each, and gone from the disk once the broker has them.
    await waitFor('the record to leave the disk', () => !existsSync(keptFile(second, connectionId)), 10_000)
    expect(await recordsOf(connect.sessionId, 'gateway.connection.opened')).toHaveLength(1)
    expect(await recordsOf(connect.sessionId, 'gateway.connection')).toHaveLength(1)
    expect(second.log()).toMatch(/1 from before this start to send \(1 whose end the gateway did not see/)
  }, 60_000)

  it('a gateway stopped while the broker cannot take the end: the record stays on disk, and the next start sends it', async () => {
    // The broker is away for connection records only: a relay in front of it drops those calls.
    const relay = await startRelay(Number(new URL(broker.url).port), await freePort())
    stopped.push(() => relay.kill())
    relay.drop = (line) => line.startsWith('POST /v1/gateway/connections HTTP/')
    const token = await frontAssets(broker, 'gw-records-b', [{ path: OTHER_ASSET, port: asset.port }])
    const first = await startGateway({ url: relay.url }, { name: 'gw-records-b', token, cert })
    stopped.push(() => first.stop())
    const connect = await connectTo(OTHER_ASSET)
    const open = await probe(connect.port)
    expect(await open.roundTrip('while it is there\n')).toBe('while it is there\n')
    const [opened] = await waitFor('the opened record', async () => (await recordsOf(connect.sessionId, 'gateway.connection.opened')).length > 0 && recordsOf(connect.sessionId, 'gateway.connection.opened'))
    const connectionId = opened.data.connectionId as string

    open.socket.end()
    await open.closed
    await waitFor('the end on disk', () => kept(first, connectionId).closed?.endCause === 'client-closed', 10_000)
    await waitFor('the gateway to have tried to send it', () => relay.dropped.length > 0, 10_000)
    await first.stop('SIGTERM')
    expect(first.log()).toMatch(/connection records: 1 not yet taken by the broker are kept in /)
    expect(await recordsOf(connect.sessionId, 'gateway.connection')).toEqual([])

    const second = await gatewayOf('gw-records-b', token, first)
    const [record] = await waitFor('the record', async () => (await recordsOf(connect.sessionId, 'gateway.connection')).length > 0 && recordsOf(connect.sessionId, 'gateway.connection'))
    expect(record.data).toMatchObject({ connectionId, endCause: 'client-closed', bytesToAsset: 18, bytesFromAsset: 18 })
    expect(record.data.recovered).toBeUndefined()
    await waitFor('the disk to be empty', () => readdirSync(join(second.dataDir, 'connections')).length === 0, 10_000)
    expect(await recordsOf(connect.sessionId, 'gateway.connection.opened')).toHaveLength(1)
  }, 60_000)

  it('a gateway stopped with SIGTERM mid-connection closes it and the broker has its end before the gateway exits', async () => {
    const token = await frontAssets(broker, 'gw-records-d', [{ path: 'plant-a/line-3/cell-5/plc-12', port: asset.port }])
    const gateway = await gatewayOf('gw-records-d', token)
    const connect = await connectTo('plant-a/line-3/cell-5/plc-12')
    const open = await probe(connect.port)
    expect(await open.roundTrip('until the stop\n')).toBe('until the stop\n')
    await gateway.stop('SIGTERM')
    await open.closed
    const records = await recordsOf(connect.sessionId, 'gateway.connection')
    expect(records.map((e) => e.data)).toEqual([expect.objectContaining({ endCause: 'gateway-stopped', bytesToAsset: 15, bytesFromAsset: 15 })])
    expect(records[0].data.recovered).toBeUndefined()
    expect(readdirSync(join(gateway.dataDir, 'connections'))).toEqual([])
  })

  it('one gateway per data folder: a second on the same folder exits 2 and takes nothing', async () => {
    const token = await frontAssets(broker, 'gw-records-c', [{ path: 'plant-a/line-3/cell-4/plc-11', port: asset.port }])
    const running = await gatewayOf('gw-records-c', token)
    const second = await jit(['gateway', 'start', '--broker', broker.url, '--listen', '127.0.0.1:0', '--name', 'gw-records-c', '--tls-cert', cert.cert, '--tls-key', cert.key, '--data', running.dataDir], { env: { JIT_GATEWAY_TOKEN: token } })
    expect(second.code).toBe(2)
    expect(second.stderr).toContain(`nother gateway (process ${running.process.pid}) uses the data folder ${running.dataDir}`)
    expect(readFileSync(join(running.dataDir, 'gateway.lock'), 'utf8').trim()).toBe(String(running.process.pid))
    expect(running.process.exitCode).toBeNull()
  })
})
