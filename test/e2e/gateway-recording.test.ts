// Recorded connections: the gateway keeps the byte stream of each connection (and an asciicast
// file for a terminal asset), reports the connection to the broker with each file's SHA-256, and
// the audit trail, `jit sessions show` and `jit sessions replay` tell the same story. A file
// changed afterwards no longer matches its record. Real broker, gateway, jit connect, TCP asset.
import { createHash } from 'node:crypto'
import { appendFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { GW_ASSET, frontAssets, probe, selfSignedCert, startConnect, startEchoAsset, startGateway, type TestGateway } from './gateway-helpers.js'
import { waitFor } from './revocation-helpers.js'

let broker: TestBroker
let gateway: TestGateway
let asset: Awaited<ReturnType<typeof startEchoAsset>>
let alice: string
let sol: string
const recordings = tempDir('jit-recordings-')
let sessionId: string
let record: Record<string, any>

beforeAll(async () => {
  broker = await startBroker()
  asset = await startEchoAsset()
  const token = await frontAssets(broker, 'gw-line-3', [{ path: GW_ASSET, port: asset.port, terminal: true }])
  gateway = await startGateway(broker, { name: 'gw-line-3', token, cert: selfSignedCert(), args: ['--recordings', recordings] })
  alice = await broker.enroll('alice', ['technician'])
  sol = await broker.enroll('sol', ['security'])

  const connect = await startConnect(alice, [GW_ASSET, '--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m'])
  sessionId = connect.sessionId
  const client = await probe(connect.port)
  expect(await client.roundTrip('show faults\r\n')).toBe('show faults\r\n')
  expect(await client.roundTrip('ack 17 ✓\r\n')).toBe('ack 17 ✓\r\n')
  client.socket.end()
  await client.closed
  connect.process.kill('SIGINT')
  await connect.exited
  record = await waitFor('the connection record', async () => (await broker.withStore((store) => store.auditLog.events({ sessionId }))).find((e) => e.type === 'gateway.connection')?.data)
})

afterAll(async () => {
  await gateway?.stop()
  await asset?.close()
  await broker?.stop()
  cleanup(broker.dataDir, alice, sol, recordings)
})

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

/** Reads a .jitrec byte stream back: [direction, bytes] per chunk. */
function chunksOf(path: string): [string, string][] {
  const data = readFileSync(path)
  const chunks: [string, string][] = []
  for (let at = 0; at < data.length;) {
    const length = data.readUInt32BE(at + 5)
    chunks.push([String.fromCharCode(data[at]), data.subarray(at + 9, at + 9 + length).toString('utf8')])
    at += 9 + length
  }
  return chunks
}

describe('recorded connections', () => {
  it('the byte stream is kept, and its SHA-256 is the one in the audit record', () => {
    expect(record.recording.file).toMatch(new RegExp(`^${sessionId}/con_[\\w-]+\\.jitrec$`))
    const path = join(recordings, record.recording.file)
    expect(sha256(path)).toBe(record.recording.sha256)
    expect(readFileSync(path).length).toBe(record.recording.bytes)
    const chunks = chunksOf(path)
    const sent = chunks.filter(([d]) => d === '>').map(([, t]) => t).join('')
    const received = chunks.filter(([d]) => d === '<').map(([, t]) => t).join('')
    expect(sent).toBe('show faults\r\nack 17 ✓\r\n')
    expect(received).toBe(sent)
    expect(record).toMatchObject({ bytesToAsset: Buffer.byteLength(sent), bytesFromAsset: Buffer.byteLength(sent), endCause: 'client-closed', asset: GW_ASSET })
  })

  it('a terminal asset also gets an asciicast v2 file, hashed in the record', () => {
    const path = join(recordings, record.asciicast.file)
    expect(sha256(path)).toBe(record.asciicast.sha256)
    const [header, ...events] = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line))
    expect(header).toMatchObject({ version: 2, width: 80, height: 24 })
    expect(events.filter((e) => e[1] === 'o').map((e) => e[2]).join('')).toBe('show faults\r\nack 17 ✓\r\n')
  })

  it('jit audit verify covers the connection records', async () => {
    // Verifying the whole log is for security and admins (a technician gets exit 3).
    const viaApi = await jit(['audit', 'verify', '--json'], { home: sol })
    expect(viaApi.code).toBe(0)
    expect(viaApi.json()).toMatchObject({ ok: true })
    const seq = (await broker.withStore((store) => store.auditLog.events({ sessionId }))).find((e) => e.type === 'gateway.connection')!.seq
    expect(viaApi.json().events).toBeGreaterThanOrEqual(seq)
  })

  it('jit sessions show lists the connection', async () => {
    const shown = await jit(['sessions', 'show', sessionId, '--json'], { home: alice })
    expect(shown.code).toBe(0)
    expect(shown.json().connections).toEqual([expect.objectContaining({ connectionId: record.connectionId, gateway: 'gw-line-3', recording: record.recording })])
    const human = await jit(['sessions', 'show', sessionId], { home: alice })
    expect(human.stdout).toMatch(/connection .* via gw-line-3 from 127\.0\.0\.1:\d+: 25 B to the asset, 25 B back, ended client-closed/)
  })

  it('jit sessions replay plays the terminal back; a changed file is refused', async () => {
    const played = await jit(['sessions', 'replay', sessionId, '--recordings', recordings, '--speed', '1000'], { home: alice })
    expect(played.code).toBe(0)
    expect(played.stdout).toBe('show faults\r\nack 17 ✓\r\n')
    appendFileSync(join(recordings, record.asciicast.file), JSON.stringify([9, 'o', 'rm -rf /\r\n']) + '\n')
    const tampered = await jit(['sessions', 'replay', sessionId, '--recordings', recordings, '--speed', '1000'], { home: alice })
    expect(tampered.code).toBe(1)
    expect(tampered.stdout).toBe('')
    expect(tampered.stderr).toMatch(/does not match its audit record/)
  })
})
