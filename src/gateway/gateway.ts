// The gateway: a TLS listener in front of plant assets, composed here from its parts. Each
// connection proves, in a short handshake (handshake.ts, the rules in admission.ts), a live
// session for the asset it asks for; only then does the gateway open the asset's endpoint and pipe
// bytes both ways (pipe.ts; protocol-aware checks will sit in protocols/). The revocation stream
// closes every connection of a session the moment the broker reports its end; a stream silent for
// longer than the stale limit refuses new connections (and, strict, closes the open ones). Each
// connection's record goes to the broker through the report queue (reports.ts).
import { X509Certificate, createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FrontedAsset, GatewayAssets } from '../wire/gateway.js'
import { brokerKeys, type AdmissionContext } from './admission.js'
import { BrokerLink } from './broker-link.js'
import { ConnectionTable, EndedSessions } from './connections.js'
import { serveTunnel } from './handshake.js'
import { createListener } from './listener.js'
import { ConnectionReports } from './reports.js'
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
  /** The gateway's own folder: the records of its connections until the broker has them. */
  dataDir: string
  staleAfterMs: number
  strict: boolean
  log?: (line: string) => void
}

export interface RunningGateway {
  address: string
  close(): Promise<void>
}

const ASSET_REFRESH_MS = 5000
const STALE_CHECK_MS = 250

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`))
  const cert = readFileSync(options.tlsCert)
  const key = readFileSync(options.tlsKey)
  const certSha256 = createHash('sha256').update(new X509Certificate(cert).raw).digest('hex')
  const link = new BrokerLink(options.brokerUrl.replace(/\/+$/, ''), options.token, options.caFile)

  const { issuer } = await link.get<{ issuer: string }>('/healthz')
  const jwks = await brokerKeys(link)
  let fronted = await loadAssets(link, options.name)
  // Before anything runs in the background: a data folder the gateway cannot take stops the start cleanly.
  const reports = await ConnectionReports.open(link, options.dataDir, log)
  const connections = new ConnectionTable()
  const ended = new EndedSessions()

  const follower = new RevocationFollower(link, {
    staleAfterMs: options.staleAfterMs,
    log,
    onEnd: (end) => {
      ended.add(end.sessionId, end.cause)
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
  const server = createListener({
    cert,
    key,
    log,
    serve: (socket, release) => serveTunnel(socket, { gateway: options.name, recordings: options.recordings, admission, ended, follower, connections, reports, log, release, state }),
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  }).catch(async (error: unknown) => {
    follower.stop()
    await reports.close(0)
    throw error
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
      await reports.close(3000)
    },
  }
}

async function loadAssets(link: BrokerLink, name: string): Promise<Map<string, FrontedAsset>> {
  const answer = await link.get<GatewayAssets>('/gateway/assets')
  if (answer.gateway !== name) throw new Error(`the verifier token belongs to "${answer.gateway}", not to gateway "${name}"; start the gateway with --name ${answer.gateway} or use its own token`)
  return new Map(answer.assets.map((asset) => [asset.path, asset]))
}
