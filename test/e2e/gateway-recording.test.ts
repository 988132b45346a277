// Recorded connections: the gateway keeps the byte stream of each connection (and an asciicast
// file for a terminal asset), reports the connection to the broker with each file's SHA-256, and
// the audit trail, `jit sessions show` and `jit sessions replay` tell the same story. A file
// changed afterwards no longer matches its record. Real broker, gateway, jit connect, TCP asset.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
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
    const file = join(recordings, record.asciicast.file)
    const original = readFileSync(file)
    appendFileSync(file, JSON.stringify([9, 'o', 'rm -rf /\r\n']) + '\n')
    const tampered = await jit(['sessions', 'replay', sessionId, '--recordings', recordings, '--speed', '1000'], { home: alice })
    writeFileSync(file, original)
    expect(tampered.code).toBe(1)
    expect(tampered.stdout).toBe('')
    expect(tampered.stderr).toMatch(/does not match its audit record/)
  })
})

// Only regular files inside the recordings folder are read: the audit record names a path, and
// whoever can write to the folder must not get another file played, hashed or a reader hung.
describe('jit sessions replay and the recordings folder', () => {
  let path: string
  let sessionDir: string
  let original: Buffer
  let elsewhere: string

  beforeAll(() => {
    path = join(recordings, record.asciicast.file)
    sessionDir = dirname(path)
    original = readFileSync(path)
  })
  beforeEach(() => {
    elsewhere = tempDir('jit-elsewhere-')
  })
  afterEach(() => {
    if (existsSync(`${sessionDir}.real`)) {
      rmSync(sessionDir, { force: true })
      renameSync(`${sessionDir}.real`, sessionDir)
    }
    rmSync(path, { force: true })
    writeFileSync(path, original)
    cleanup(elsewhere)
  })

  // A FIFO would block the reader forever: the kill after 20 s turns a hang into a failure.
  const replay = (folder = recordings) => jit(['sessions', 'replay', sessionId, '--recordings', folder, '--speed', '1000', '--json'], { home: alice, onSpawn: (child) => setTimeout(() => child.kill('SIGKILL'), 20_000).unref() })
  async function refused(problem: RegExp) {
    const result = await replay()
    expect(result.signal, 'replay hung').toBeNull()
    expect(result.code, result.stdout + result.stderr).toBe(2)
    expect(result.stdout).not.toMatch(/show faults/)
    expect(result.json().error.message).toMatch(problem)
    return result
  }
  const linkTo = (target: string) => {
    rmSync(path)
    symlinkSync(target, path)
  }

  it('a link to a copy outside, with the very hash the record holds, is refused', async () => {
    writeFileSync(join(elsewhere, 'copy.cast'), original)
    linkTo(join(elsewhere, 'copy.cast'))
    await refused(/symbolic link/)
  })

  it('a link to another file outside is refused without naming its hash', async () => {
    writeFileSync(join(elsewhere, 'other'), 'not a recording\n')
    linkTo(join(elsewhere, 'other'))
    const result = await refused(/symbolic link/)
    expect(result.stdout + result.stderr).not.toContain(sha256(join(elsewhere, 'other')))
  })

  it('the session\'s folder a link to a folder outside holding the same file is refused', async () => {
    mkdirSync(join(elsewhere, 'session'))
    writeFileSync(join(elsewhere, 'session', basename(path)), original)
    renameSync(sessionDir, `${sessionDir}.real`)
    symlinkSync(join(elsewhere, 'session'), sessionDir)
    await refused(/not a file inside/)
  })

  it('a FIFO in the file\'s place is refused at once, not waited on', async () => {
    rmSync(path)
    execFileSync('mkfifo', [path])
    await refused(/not a regular file/)
  })

  it('the recordings folder itself may be reached through a link: it is resolved first', async () => {
    symlinkSync(recordings, join(elsewhere, 'recordings'))
    const played = await replay(join(elsewhere, 'recordings'))
    expect(played.code, played.stderr).toBe(0)
    expect(played.json().played).toEqual([expect.objectContaining({ file: record.asciicast.file, sha256: record.asciicast.sha256 })])
  })
})
