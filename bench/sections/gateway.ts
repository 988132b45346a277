// The gateway: how fast a live connection is cut when its session is revoked, and what the tunnel
// costs in throughput. Everything is real: a broker process (SQLite, fsync on commit), a
// `jit gateway start` process with a TLS certificate made by openssl, a TCP service as the asset.
//
// Cut-off: each run opens a session over the API (as an enrolled device), opens a tunnel through
// the gateway with jit connect's own tunnel client (TLS, proof of possession), proves bytes flow,
// then revokes. Two clocks: from sending the revoke, and from its answer (the broker answers only
// once the revoke is committed to disk), to the tunnel socket closing. The second can be negative
// when the gateway's cut reaches the client before the broker's answer does.
//
// Throughput: 100 MB written through a real `jit connect` process and the gateway to a sink that
// acknowledges the last byte, against the same 100 MB written straight to the sink over loopback.
import { execFileSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import type { KeyObject } from 'node:crypto'
import { nowMs, percentile, type BenchOptions, type BenchRow, type Section } from '../lib.ts'
import { addAsset, addVerifier, openStore } from '../../dist/src/broker/admin.js'
import { SqliteAsyncStore } from '../../dist/src/broker/store/sqlite-async-store.js'
import { deviceAssertion } from '../../dist/src/cli/device/device-key.js'
import { jtiOf, openTunnel } from '../../dist/src/cli/connect/tunnel-client.js'
import { ASSET, TICKET, processCpuMs, removeDirs, startBrokerProcess, tempDir, type BrokerProcess } from '../support.ts'

const CUT_TARGET_P50_MS = 100
const THROUGHPUT_TARGET_RATIO = 1.5

export interface Sink {
  port: number
  close(): Promise<void>
}

/** The asset: echoes a first line (so a tunnel can be proven), counts the rest, and acknowledges when `expect` bytes have arrived. */
export async function startSink(expectBytes: number): Promise<Sink> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => sockets.delete(socket))
    let seen = 0
    let echoed = false
    socket.on('data', (chunk: Buffer) => {
      if (!echoed && chunk[0] === 0x70 /* "p"ing */) {
        echoed = true
        socket.write(chunk)
        return
      }
      seen += chunk.length
      if (seen >= expectBytes) socket.write('k')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A `jit gateway start` process named bench-gw with a certificate made by openssl; resolves once it listens. */
export async function startGatewayProcess(root: string, broker: BrokerProcess, token: string, dir: string): Promise<{ address: string; pid: number | undefined; stop(): Promise<void> }> {
  const cert = join(dir, 'gw.pem')
  const key = join(dir, 'gw-key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=jit-bench-gateway'], { stdio: 'ignore' })
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 })
  const child = spawn(process.execPath, [join(root, 'bin/run.js'), 'gateway', 'start', '--broker', broker.url, '--listen', '127.0.0.1:0', '--name', 'bench-gw', '--token-file', join(dir, 'token'), '--tls-cert', cert, '--tls-key', key], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  child.stderr!.resume()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const address = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const line = out.split('\n').find((l) => /^[\d.]+:\d+$/.test(l.trim()))
      if (line) resolve(line.trim())
    })
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}`)))
  })
  return {
    address,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** A device calling the broker API the way the CLI does (a signed assertion per call). */
/** The bench asset put behind a gateway named bench-gw (registered as a verifier) whose endpoint is the sink. */
export async function gatewayInFrontOf(root: string, broker: BrokerProcess, sinkPort: number, dir: string): ReturnType<typeof startGatewayProcess> {
  const store = new SqliteAsyncStore(openStore(broker.dataDir))
  let token: string
  try {
    await addAsset(store, { path: ASSET, attributes: { state: 'running', gateway: 'bench-gw', endpoint: `127.0.0.1:${sinkPort}` } })
    token = (await addVerifier(store, 'bench-gw')).token
  } finally {
    await store.close()
  }
  return startGatewayProcess(root, broker, token, dir)
}

export function deviceApi(broker: BrokerProcess, device: { deviceId: string; privateKey: KeyObject }) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const response = await fetch(`${broker.url}/v1${path}`, {
      method,
      headers: { authorization: deviceAssertion(device, method, `/v1${path}`, payload, broker.url), ...(payload ? { 'content-type': 'application/json' } : {}) },
      body: payload,
    })
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`)
    return (await response.json()) as T
  }
}

async function oneCut(api: ReturnType<typeof deviceApi>, privateKey: KeyObject): Promise<{ fromSendMs: number; fromAnswerMs: number }> {
  const { grant } = await api<{ grant: { session: { id: string }; credential: string } }>('POST', '/requests', { ticket: TICKET, asset: ASSET, scope: 'diagnose', ttlSeconds: 600, reason: 'bench' })
  const gateway = await api<Parameters<typeof openTunnel>[0]['gateway']>('GET', `/sessions/${grant.session.id}/gateway`)
  const { socket } = await openTunnel({ gateway, credential: grant.credential, jti: jtiOf(grant.credential), privateKey })
  socket.resume()
  await new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve())
    socket.once('close', () => reject(new Error('the tunnel closed before the asset answered')))
    socket.write('ping\n')
  })
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(nowMs())))
  const sentAt = nowMs()
  await api('POST', `/sessions/${grant.session.id}/revoke`, { reason: 'bench' })
  const answeredAt = nowMs()
  const closedAt = await Promise.race([closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('the tunnel was not cut within 10 s of the revoke')), 10_000).unref())])
  return { fromSendMs: closedAt - sentAt, fromAnswerMs: closedAt - answeredAt }
}

/** Writes `bytes` to port (or an open tunnel) and resolves with the ms until the sink acknowledges the last one. */
function push(target: number | Socket, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = typeof target === 'number' ? connect({ host: '127.0.0.1', port: target }) : target
    const block = Buffer.alloc(256 * 1024, 0x61)
    let start = 0
    const begin = () => {
      start = nowMs()
      let left = bytes
      const write = () => {
        while (left > 0) {
          const n = Math.min(left, block.length)
          left -= n
          if (!socket.write(n === block.length ? block : block.subarray(0, n))) return void socket.once('drain', write)
        }
      }
      write()
    }
    if (typeof target === 'number') socket.once('connect', begin)
    else begin()
    socket.once('data', () => {
      const ms = nowMs() - start
      socket.destroy()
      resolve(ms)
    })
    socket.once('error', reject)
    socket.once('close', () => reject(new Error('closed before the sink acknowledged')))
  })
}

async function pushThroughGateway(api: ReturnType<typeof deviceApi>, privateKey: KeyObject, bytes: number): Promise<number> {
  const { grant } = await api<{ grant: { session: { id: string }; credential: string } }>('POST', '/requests', { ticket: TICKET, asset: ASSET, scope: 'diagnose', ttlSeconds: 600, reason: 'bench' })
  const gateway = await api<Parameters<typeof openTunnel>[0]['gateway']>('GET', `/sessions/${grant.session.id}/gateway`)
  const { socket } = await openTunnel({ gateway, credential: grant.credential, jti: jtiOf(grant.credential), privateKey })
  socket.resume()
  try {
    return await push(socket, bytes)
  } finally {
    await api('POST', `/sessions/${grant.session.id}/revoke`, { reason: 'bench' })
  }
}

async function startConnectProcess(root: string, home: string): Promise<{ port: number; pid: number | undefined; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(root, 'bin/run.js'), 'connect', ASSET, '--ticket', TICKET, '--scope', 'diagnose', '--ttl', '30m'], {
    env: { ...process.env, NO_COLOR: '1', JIT_HOME: home },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = await new Promise<number>((resolve, reject) => {
    let err = ''
    child.stderr!.on('data', (d) => {
      err += d
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(err)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', (code) => reject(new Error(`jit connect exited ${code}: ${err}`)))
  })
  return {
    port,
    pid: child.pid,
    async stop() {
      child.kill('SIGINT')
      await exited
    },
  }
}

const gateway: Section = async (options: BenchOptions): Promise<BenchRow[]> => {
  const root = options.root
  const cuts = options.quick ? 3 : 100
  const warmup = options.quick ? 1 : 5
  const megabytes = options.quick ? 4 : 100
  const rounds = options.quick ? 1 : 3
  const dir = tempDir('jit-bench-gw-')
  const sink = await startSink(megabytes * 2 ** 20)
  const broker = await startBrokerProcess(root)
  let gw: Awaited<ReturnType<typeof startGatewayProcess>> | undefined
  let connectProcess: Awaited<ReturnType<typeof startConnectProcess>> | undefined
  let home: string | undefined
  try {
    gw = await gatewayInFrontOf(root, broker, sink.port, dir)
    const device = await broker.enrollDevice('bench-gw-device')
    const api = deviceApi(broker, device)

    const samples: { fromSendMs: number; fromAnswerMs: number }[] = []
    for (let i = 0; i < warmup + cuts; i++) {
      const sample = await oneCut(api, device.privateKey)
      if (i >= warmup) samples.push(sample)
    }
    const fromAnswer = samples.map((s) => s.fromAnswerMs)
    const fromSend = samples.map((s) => s.fromSendMs)
    const rows: BenchRow[] = [
      {
        section: 'gateway',
        name: 'revoke committed → tunnel closed at the client',
        value: percentile(fromAnswer, 50),
        unit: 'ms',
        p50: percentile(fromAnswer, 50),
        p99: percentile(fromAnswer, 99),
        target: `p50 < ${CUT_TARGET_P50_MS} ms`,
        met: options.quick ? undefined : percentile(fromAnswer, 50) < CUT_TARGET_P50_MS,
        note: `${cuts} runs; clock starts when the broker's revoke answer arrives (it answers after the commit); negative = the cut arrived first`,
      },
      {
        section: 'gateway',
        name: 'revoke sent → tunnel closed at the client',
        value: percentile(fromSend, 50),
        unit: 'ms',
        p50: percentile(fromSend, 50),
        p99: percentile(fromSend, 99),
        note: 'includes the revoke call itself (device assertion, commit with fsync)',
      },
    ]

    try {
      home = await broker.loginCli('bench-gw-cli', root)
    } catch (error) {
      rows.push({ section: 'gateway', name: `${megabytes} MB through jit connect + gateway vs direct`, value: Number.NaN, unit: 'x', note: `skipped: jit login failed (is a keychain running?): ${(error as Error).message.split('\n')[0]}` })
      return rows
    }
    connectProcess = await startConnectProcess(root, home)
    const tunnelled: number[] = []
    const direct: number[] = []
    const gatewayOnly: number[] = []
    // CPU time of the two relay processes per tunnelled run: steadier than wall time on a shared machine.
    const connectCpu: number[] = []
    const gatewayCpu: number[] = []
    const cpuOf = (pid: number | undefined) => processCpuMs(pid) ?? Number.NaN
    // Interleaved, so noise on the shared machine hits all alike; one warm-up round each.
    for (let round = 0; round < rounds + 1; round++) {
      const before = { connect: cpuOf(connectProcess.pid), gateway: cpuOf(gw.pid) }
      const t = await push(connectProcess.port, megabytes * 2 ** 20)
      const after = { connect: cpuOf(connectProcess.pid), gateway: cpuOf(gw.pid) }
      const d = await push(sink.port, megabytes * 2 ** 20)
      const g = await pushThroughGateway(api, device.privateKey, megabytes * 2 ** 20)
      if (round > 0 || options.quick) {
        tunnelled.push(t)
        direct.push(d)
        gatewayOnly.push(g)
        connectCpu.push(after.connect - before.connect)
        gatewayCpu.push(after.gateway - before.gateway)
      }
    }
    const ratio = percentile(tunnelled, 50) / percentile(direct, 50)
    rows.push({
      section: 'gateway',
      name: `${megabytes} MB through jit connect + gateway (TLS)`,
      value: percentile(tunnelled, 50),
      unit: 'ms',
      baseline: { name: 'direct loopback', value: percentile(direct, 50) },
      ratio,
      target: `within ${THROUGHPUT_TARGET_RATIO}x of direct`,
      met: options.quick ? undefined : ratio <= THROUGHPUT_TARGET_RATIO,
      note: `median of ${tunnelled.length} runs each, interleaved; ${((megabytes * 2 ** 20) / 2 ** 20 / (percentile(tunnelled, 50) / 1000)).toFixed(0)} MB/s tunnelled; CPU of the relays per run (median): jit connect ${percentile(connectCpu, 50).toFixed(0)} ms, gateway ${percentile(gatewayCpu, 50).toFixed(0)} ms`,
    })
    rows.push({
      section: 'gateway',
      name: `${megabytes} MB through the gateway alone (TLS, no jit connect hop)`,
      value: percentile(gatewayOnly, 50),
      unit: 'ms',
      baseline: { name: 'direct loopback', value: percentile(direct, 50) },
      ratio: percentile(gatewayOnly, 50) / percentile(direct, 50),
      note: 'the bench process opens the tunnel itself (jit connect\'s tunnel client): separates the gateway\'s share from the local hop\'s',
    })
    return rows
  } finally {
    await connectProcess?.stop()
    await gw?.stop()
    await broker.stop()
    await sink.close()
    removeDirs(dir, ...(home ? [home] : []))
  }
}

export default gateway
