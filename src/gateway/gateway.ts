// The gateway: a TLS listener in front of plant assets. Each connection proves, in a short
// handshake, a live session for the asset it asks for (admission.ts); only then does the gateway
// open the asset's endpoint and pipe bytes both ways. The revocation stream closes every
// connection of a session the moment the broker reports its end; a stream silent for longer than
// the stale limit refuses new connections (and, strict, closes the open ones).
import { X509Certificate, createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { createServer, type TLSSocket } from 'node:tls'
import { newId } from '../util/ids.js'
import {
  TUNNEL_HANDSHAKE_TIMEOUT_MS, TUNNEL_PROTOCOL, TUNNEL_SOCKET_BUFFER_BYTES, encodeFrame,
  type ConnectionEndCause, type ConnectionRecord, type FrontedAsset, type GatewayAssets, type TunnelChallenge, type TunnelRefused,
} from '../wire/gateway.js'
import { Refusal, admit, brokerKeys, type AdmissionContext } from './admission.js'
import { BrokerLink } from './broker-link.js'
import { ConnectionTable, EndedSessions, type OpenConnection } from './connections.js'
import { FrameError, FrameReader } from '../wire/tunnel-frames.js'
import { ConnectionRecorder } from './recorder.js'
import { RevocationFollower } from './revocation-follower.js'

export interface GatewayOptions {
  brokerUrl: string
  token: string
  name: string
  host: string
  port: number
  tlsCert: string
  tlsKey: string
  /** host:port clients use to reach this gateway (default: the listen address). */
  advertise?: string
  /** PEM file of the CA that signed the broker's certificate. */
  caFile?: string
  recordings?: string
  staleAfterMs: number
  strict: boolean
  log?: (line: string) => void
}

export interface RunningGateway {
  address: string
  close(): Promise<void>
}

const ASSET_REFRESH_MS = 5000
const ASSET_CONNECT_TIMEOUT_MS = 5000
const STALE_CHECK_MS = 250
const MAX_PENDING_HANDSHAKES = 256

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`))
  const cert = readFileSync(options.tlsCert)
  const key = readFileSync(options.tlsKey)
  const certSha256 = createHash('sha256').update(new X509Certificate(cert).raw).digest('hex')
  const link = new BrokerLink(options.brokerUrl.replace(/\/+$/, ''), options.token, options.caFile)

  const { issuer } = await link.get<{ issuer: string }>('/healthz')
  const jwks = await brokerKeys(link)
  let fronted = await loadAssets(link, options.name)
  const connections = new ConnectionTable()
  const ended = new EndedSessions()
  const reports = new ConnectionReports(link, log)

  const follower = new RevocationFollower(link, {
    staleAfterMs: options.staleAfterMs,
    log,
    onEnd: (end) => {
      ended.add(end.sessionId)
      const closed = connections.closeSession(end.sessionId, end.cause)
      if (closed > 0) log(`session ${end.sessionId} ended (${end.cause}): closed ${closed} connection(s)`)
    },
  })
  follower.start()

  const refresh = setInterval(() => {
    loadAssets(link, options.name).then((assets) => (fronted = assets), (error: Error) => log(`assets: ${error.message}; keeping the last list`))
  }, ASSET_REFRESH_MS)
  refresh.unref()
  const staleWatch = setInterval(() => {
    if (follower.checkStale() && options.strict && connections.size > 0) {
      log(`revocation stream stale for over ${options.staleAfterMs / 1000}s: strict mode closes ${connections.size} connection(s)`)
      connections.closeAll('stream-stale')
    }
  }, STALE_CHECK_MS)
  staleWatch.unref()

  const admission: AdmissionContext = { gateway: options.name, issuer, jwks, link, assets: () => fronted, ended: (id) => ended.has(id) }
  const state = { stopping: false }
  let pendingHandshakes = 0
  // A client that never starts TLS is not covered by handshakeTimeout: its raw socket gets a deadline of its own.
  const unsecured = new Map<string, NodeJS.Timeout>()
  const server = createServer({ cert, key, minVersion: 'TLSv1.2', handshakeTimeout: TUNNEL_HANDSHAKE_TIMEOUT_MS }, (socket) => {
    // Request/response protocols (Modbus, a shell) must not wait on Nagle's algorithm.
    socket.setNoDelay(true)
    const peer = `${socket.remoteAddress}:${socket.remotePort}`
    clearTimeout(unsecured.get(peer))
    unsecured.delete(peer)
    if (pendingHandshakes >= MAX_PENDING_HANDSHAKES) {
      socket.destroy()
      return
    }
    pendingHandshakes++
    let counted = true
    const release = () => {
      if (counted) pendingHandshakes--
      counted = false
    }
    void serveTunnel(socket, { options, admission, follower, connections, reports, log, release, state }).catch((error: Error) => {
      log(`error: tunnel from ${socket.remoteAddress}: ${error.message}`)
      socket.destroy()
    }).finally(release)
  })
  server.on('connection', (raw: Socket) => {
    const peer = `${raw.remoteAddress}:${raw.remotePort}`
    unsecured.set(peer, setTimeout(() => raw.destroy(), TUNNEL_HANDSHAKE_TIMEOUT_MS))
    raw.once('close', () => {
      clearTimeout(unsecured.get(peer))
      unsecured.delete(peer)
    })
  })
  server.on('tlsClientError', () => {})
  server.on('error', (error) => log(`error: listener: ${error.message}`))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const bound = server.address() as { address: string; port: number }
  const address = options.advertise ?? `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`
  await link.post('/gateway/announce', { address, certSha256 })
  log(`gateway ${options.name} listening on ${address} (broker ${options.brokerUrl}, ${fronted.size} asset(s), stale after ${options.staleAfterMs / 1000}s${options.strict ? ', strict' : ''}${options.recordings ? `, recordings in ${options.recordings}` : ''})`)

  return {
    address,
    async close() {
      // A handshake still in flight must not open a connection after the rest were closed.
      state.stopping = true
      follower.stop()
      clearInterval(refresh)
      clearInterval(staleWatch)
      connections.closeAll('gateway-stopped')
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await reports.flush(3000)
    },
  }
}

async function loadAssets(link: BrokerLink, name: string): Promise<Map<string, FrontedAsset>> {
  const answer = await link.get<GatewayAssets>('/gateway/assets')
  if (answer.gateway !== name) throw new Error(`the verifier token belongs to "${answer.gateway}", not to gateway "${name}"; start the gateway with --name ${answer.gateway} or use its own token`)
  return new Map(answer.assets.map((asset) => [asset.path, asset]))
}

interface TunnelDeps {
  options: GatewayOptions
  admission: AdmissionContext
  follower: RevocationFollower
  connections: ConnectionTable
  reports: ConnectionReports
  log: (line: string) => void
  release: () => void
  state: { stopping: boolean }
}

async function serveTunnel(socket: TLSSocket, deps: TunnelDeps): Promise<void> {
  const { options, follower, log } = deps
  const from = `${socket.remoteAddress}:${socket.remotePort}`
  socket.on('error', () => {})
  const refuse = (refusal: Refusal) => {
    const frame: TunnelRefused = { type: 'refused', code: refusal.code, message: refusal.message }
    log(`refused ${from}: ${refusal.code}: ${refusal.message}`)
    socket.end(encodeFrame(frame))
    setTimeout(() => socket.destroy(), 1000).unref()
  }
  if (!follower.fresh) return refuse(new Refusal('stale', 'the gateway has lost the broker\'s revocation stream; no new connections until it is back'))

  const nonce = randomBytes(32).toString('base64url')
  const challenge: TunnelChallenge = { type: 'challenge', protocol: TUNNEL_PROTOCOL, gateway: options.name, nonce }
  socket.write(encodeFrame(challenge))

  let opened: { frame: Record<string, unknown>; rest: Buffer }
  try {
    opened = await readOpenFrame(socket)
  } catch (error) {
    if (error instanceof FrameError) return refuse(new Refusal('bad-frame', error.message))
    socket.destroy()
    return
  }
  let admitted
  try {
    admitted = await admit(deps.admission, opened.frame, nonce)
  } catch (error) {
    if (error instanceof Refusal) return refuse(error)
    throw error
  }
  if (socket.destroyed) return
  if (!follower.fresh) return refuse(new Refusal('stale', 'the gateway has lost the broker\'s revocation stream'))
  const { claims, asset } = admitted

  const upstream = await connectAsset(asset).catch(() => undefined)
  if (!upstream) return refuse(new Refusal('unavailable', `asset ${asset.path} does not answer at its endpoint`))
  // The session may have ended (or the gateway begun to stop) while the asset was being reached.
  if (deps.admission.ended(claims.sid) || socket.destroyed || deps.state.stopping) {
    upstream.destroy()
    if (!socket.destroyed) refuse(deps.state.stopping ? new Refusal('unavailable', 'the gateway is stopping') : new Refusal('inactive', `session ${claims.sid} has ended`))
    return
  }
  deps.release()
  pipeTunnel(socket, upstream, opened.rest, { ...deps, sessionId: claims.sid, asset, from, exp: claims.exp })
}

function readOpenFrame(socket: TLSSocket): Promise<{ frame: Record<string, unknown>; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader()
    const timer = setTimeout(() => done(new FrameError('handshake timed out')), TUNNEL_HANDSHAKE_TIMEOUT_MS)
    const onData = (chunk: Buffer) => {
      try {
        const result = reader.push(chunk)
        if (result) done(undefined, result)
      } catch (error) {
        done(error as Error)
      }
    }
    const onClose = () => done(new Error('closed during handshake'))
    const done = (error?: Error, result?: { frame: Record<string, unknown>; rest: Buffer }) => {
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeListener('close', onClose)
      socket.pause()
      if (error) reject(error)
      else resolve(result!)
    }
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}

function connectAsset(asset: FrontedAsset): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // (Node takes highWaterMark for a client socket too; its types name it only for servers.)
    const buffer = { highWaterMark: TUNNEL_SOCKET_BUFFER_BYTES }
    const upstream = connect({ host: asset.host, port: asset.port, noDelay: true, ...buffer })
    const timer = setTimeout(() => {
      upstream.destroy()
      reject(new Error('timeout'))
    }, ASSET_CONNECT_TIMEOUT_MS)
    upstream.once('connect', () => {
      clearTimeout(timer)
      upstream.removeAllListeners('error')
      upstream.on('error', () => {})
      resolve(upstream)
    })
    upstream.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

function pipeTunnel(
  client: TLSSocket,
  upstream: Socket,
  early: Buffer,
  deps: TunnelDeps & { sessionId: string; asset: FrontedAsset; from: string; exp: number },
): void {
  const { options, connections, reports, log } = deps
  const id = newId('con')
  const startedAt = new Date().toISOString()
  const counts = { toAsset: 0, fromAsset: 0 }
  const recorder = options.recordings
    ? new ConnectionRecorder(options.recordings, deps.sessionId, id, deps.asset.terminal ? { width: 80, height: 24, asset: deps.asset.path } : undefined)
    : undefined
  let endCause: ConnectionEndCause | undefined
  const connection: OpenConnection = {
    id,
    sessionId: deps.sessionId,
    close(cause) {
      endCause ??= cause
      client.destroy()
      upstream.destroy()
    },
  }
  connections.add(connection)
  // The credential says when it stops being valid; no stream message is needed for that.
  const expiry = setTimeout(() => connection.close('expired'), Math.max(0, deps.exp * 1000 - Date.now()))

  client.on('data', (chunk: Buffer) => {
    counts.toAsset += chunk.length
    recorder?.record('>', chunk)
    if (!upstream.write(chunk)) client.pause()
  })
  upstream.on('drain', () => client.resume())
  upstream.on('data', (chunk: Buffer) => {
    counts.fromAsset += chunk.length
    recorder?.record('<', chunk)
    if (!client.write(chunk)) upstream.pause()
  })
  client.on('drain', () => upstream.resume())
  client.once('end', () => {
    endCause ??= 'client-closed'
    upstream.end()
  })
  upstream.once('end', () => {
    endCause ??= 'asset-closed'
    client.end()
  })
  client.once('error', () => connection.close('error'))
  upstream.once('error', () => connection.close('asset-unreachable'))

  let finished = false
  const finish = () => {
    if (finished || !(client.destroyed || client.closed) || !(upstream.destroyed || upstream.closed)) return
    finished = true
    clearTimeout(expiry)
    connections.remove(connection)
    const endedAt = new Date().toISOString()
    void (async () => {
      const files = recorder ? await recorder.close() : undefined
      const record: ConnectionRecord = {
        connectionId: id, sessionId: deps.sessionId, asset: deps.asset.path, from: deps.from, startedAt, endedAt,
        bytesToAsset: counts.toAsset, bytesFromAsset: counts.fromAsset, endCause: endCause ?? 'client-closed', ...(files ?? {}),
      }
      log(`connection ${id} of ${deps.sessionId} from ${deps.from} ended (${record.endCause}): ${counts.toAsset} bytes to the asset, ${counts.fromAsset} back`)
      reports.send(record)
    })()
  }
  client.once('close', () => {
    upstream.destroy()
    finish()
  })
  upstream.once('close', () => {
    // Let what the asset sent last reach the client before the tunnel closes.
    if (!client.destroyed) client.end()
    setTimeout(() => client.destroy(), 2000).unref()
    finish()
  })

  const ok = encodeFrame({ type: 'ok', sessionId: deps.sessionId, connectionId: id })
  client.write(ok)
  log(`connection ${id} of ${deps.sessionId} from ${deps.from} to ${deps.asset.path} (${deps.asset.host}:${deps.asset.port})`)
  if (early.length > 0) client.emit('data', early)
  client.resume()
}

/** Sends connection records to the broker; a broker that is away gets them when it is back. */
class ConnectionReports {
  readonly #queue: ConnectionRecord[] = []
  #sending?: Promise<void>
  constructor(readonly link: BrokerLink, readonly log: (line: string) => void) {}

  send(record: ConnectionRecord): void {
    this.#queue.push(record)
    this.#sending ??= this.#drain().finally(() => (this.#sending = undefined))
  }

  async #drain(): Promise<void> {
    let delay = 250
    while (this.#queue.length > 0) {
      try {
        await this.link.post('/gateway/connections', this.#queue[0])
        this.#queue.shift()
        delay = 250
      } catch (error) {
        if ((error as { status?: number }).status === 400) {
          this.log(`error: the broker refused the record of connection ${this.#queue[0].connectionId}: ${(error as Error).message}`)
          this.#queue.shift()
          continue
        }
        this.log(`connection records: ${(error as Error).message}; ${this.#queue.length} waiting`)
        await new Promise((resolve) => setTimeout(resolve, delay))
        delay = Math.min(delay * 2, 10_000)
      }
    }
  }

  async flush(timeoutMs: number): Promise<void> {
    if (!this.#sending) return
    await Promise.race([this.#sending, new Promise((resolve) => setTimeout(resolve, timeoutMs))])
    if (this.#queue.length > 0) this.log(`error: ${this.#queue.length} connection record(s) could not reach the broker before the gateway stopped`)
  }
}
