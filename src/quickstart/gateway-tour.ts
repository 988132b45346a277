// The quickstart's gateway step: a demo PLC (a small Modbus/TCP-like echo service started in this
// process) behind a demo gateway; vic, a vendor, gets an approved session and reaches the PLC
// through jit connect's tunnel; the session is revoked and the gateway cuts the live connection;
// the connection's audit record is shown.
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addVerifier } from '../broker/admin.js'
import type { RunningBroker } from '../broker/server.js'
import type { CliContext } from '../cli/context.js'
import { listenLocal } from '../cli/connect/local-port.js'
import { jtiOf } from '../cli/connect/tunnel-client.js'
import { submitRequest, waitForDecision } from '../cli/sessions/request-access.js'
import { startGateway } from '../gateway/gateway.js'
import { DEMO_TOUR } from './demo-plant.js'
import type { AuditEvent } from '../wire/api.js'
import type { AssetGateway } from '../wire/gateway.js'

export interface GatewayTour {
  /** Why the step was skipped (no openssl to make the gateway's certificate), else undefined. */
  skipped?: string
  sessionId?: string
  echoed?: boolean
  /** Milliseconds from the revoke's answer to the vendor's connection closing. */
  cutAfterMs?: number
  connectionRecord?: Record<string, unknown>
}

type Say = Record<'ok' | 'info' | 'warn', (text: string) => void>

const ASSET = 'plant-a/line-3/cell-2/plc-07'

export async function gatewayTour(broker: RunningBroker, people: { vic: CliContext; sam: CliContext }, say: Say): Promise<GatewayTour> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-quickstart-gw-'))
  const cert = selfSignedCertificate(dir)
  if (!cert) {
    say.warn('Skipped: openssl is needed to make the demo gateway\'s TLS certificate.')
    return { skipped: 'openssl not available' }
  }
  const plc = await startEchoAsset()
  const { token } = await addVerifier(broker.ctx.store, 'demo-gw')
  const asset = (await broker.ctx.store.assets.get(ASSET))!
  await broker.ctx.store.assets.upsert({ path: ASSET, attributes: { ...asset.attributes, gateway: 'demo-gw', endpoint: `127.0.0.1:${plc.port}`, endpointScopes: ['diagnose'] } })
  const gateway = await startGateway({ brokerUrl: broker.url, token, name: 'demo-gw', host: '127.0.0.1', port: 0, tlsCert: cert.cert, tlsKey: cert.key, dataDir: join(dir, 'data'), staleAfterMs: 30_000, strict: false, log: () => {} })
  try {
    say.info(`Demo PLC (Modbus/TCP-like echo) on 127.0.0.1:${plc.port}, reachable only through gateway demo-gw on ${gateway.address}`)
    const submitted = await submitRequest(people.vic, { ticket: DEMO_TOUR.tickets.vic, asset: ASSET, scope: 'diagnose', ttl: '15m', reason: 'ACME: read the drive fault log', delivery: 'memory' })
    await (await people.sam.client()).post(`/requests/${submitted.request.id}/approve`, { comment: 'ACME may read the fault log' })
    const { grant } = await waitForDecision(people.vic, submitted.request.id, 30)
    const client = await people.vic.client()
    const target = await client.get<AssetGateway>(`/sessions/${encodeURIComponent(grant!.session.id)}/gateway`)
    const local = await listenLocal(0, { gateway: target, credential: grant!.credential, jti: jtiOf(grant!.credential), privateKey: (await people.vic.deviceKey()).privateKey }, say)
    try {
      say.ok(`sam approved; vic's jit connect listens on 127.0.0.1:${local.port} (session ${grant!.session.id})`)
      const socket = await dial(local.port)
      const request = 'READ HOLDING 40001 x4\n'
      const reply = await roundTrip(socket, request)
      say.info(`vic's tool sent "${request.trim()}" and the PLC answered "${reply.trim()}"`)
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())))
      await client.post(`/sessions/${encodeURIComponent(grant!.session.id)}/revoke`, { reason: 'vendor work done' })
      const revokedAt = performance.now()
      let giveUp: NodeJS.Timeout | undefined
      const closedAt = await Promise.race([closed, new Promise<number>((resolve) => (giveUp = setTimeout(() => resolve(Infinity), 5000)))])
      clearTimeout(giveUp)
      const cutAfterMs = Math.max(0, closedAt - revokedAt)
      say.ok(cutAfterMs === Infinity ? 'The connection was NOT cut within 5 s of the revoke.' : `vic revoked the session from another terminal (jit revoke); the gateway cut the live connection ${cutAfterMs.toFixed(0)} ms after the revoke returned`)
      const record = await connectionRecord(people.vic, grant!.session.id)
      if (record) say.info(`Audit: gateway.connection from ${record.from}, ${record.bytesToAsset} B to the PLC, ${record.bytesFromAsset} B back, ended: ${record.endCause}`)
      return { sessionId: grant!.session.id, echoed: reply === request, cutAfterMs, connectionRecord: record }
    } finally {
      await local.close()
    }
  } finally {
    await gateway.close()
    await plc.close()
  }
}

function selfSignedCertificate(dir: string): { cert: string; key: string } | undefined {
  const cert = join(dir, 'demo-gw.pem')
  const key = join(dir, 'demo-gw-key.pem')
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=jit-demo-gateway'], { stdio: 'ignore' })
    return { cert, key }
  } catch {
    return undefined
  }
}

/** A TCP echo service on loopback standing in for a PLC (the tour's, and the gateway tests'); counts the connections it has open. */
export async function startEchoAsset(): Promise<{ port: number; open: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => sockets.delete(socket))
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.address() as { port: number }).port,
    open: () => sockets.size,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

function roundTrip(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const timer = setTimeout(() => reject(new Error('the demo PLC did not answer through the gateway')), 10_000)
    const onData = (data: Buffer) => {
      got += data
      if (got.length >= text.length) {
        clearTimeout(timer)
        socket.removeListener('data', onData)
        resolve(got)
      }
    }
    socket.on('data', onData)
    socket.write(text)
  })
}

/** The gateway reports the connection right after it closes; give it a moment. */
async function connectionRecord(cli: CliContext, sessionId: string): Promise<Record<string, unknown> | undefined> {
  const client = await cli.client()
  for (let attempt = 0; attempt < 40; attempt++) {
    const { events } = await client.get<{ events: AuditEvent[] }>(`/audit?session=${encodeURIComponent(sessionId)}`)
    const record = events.find((e) => e.type === 'gateway.connection')
    if (record) return record.data
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return undefined
}
