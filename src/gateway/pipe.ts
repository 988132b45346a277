// A tunnel once admitted: the connection to the asset's endpoint, the bytes piped both ways (with
// back-pressure), counted and recorded, the connection closed when its session ends or its
// credential expires, and its end handed to the report queue. For an asset that names a protocol
// the gateway understands (protocols/), each chunk from the client is judged before the asset sees
// it: allowed requests go on, refused ones are answered here, a malformed stream is closed.
import { connect, type Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { TUNNEL_SOCKET_BUFFER_BYTES, encodeFrame, type ConnectionEndCause, type ConnectionOpened, type ConnectionRecord, type FrontedAsset } from '../wire/gateway.js'
import type { ConnectionTable, EndedSessions, OpenConnection } from './connections.js'
import { ModbusConnection } from './protocols/modbus-session.js'
import type { ModbusGrant } from './protocols/modbus-tcp.js'
import { ConnectionRecorder } from './recorder.js'
import type { ConnectionReports, LiveCounts } from './reports.js'

/** What piping a tunnel uses of the gateway. */
export interface PipeDeps {
  /** --recordings: where the byte stream of each connection is kept. */
  recordings?: string
  connections: ConnectionTable
  ended: EndedSessions
  reports: ConnectionReports
  log: (line: string) => void
  state: { stopping: boolean }
}

const ASSET_CONNECT_TIMEOUT_MS = 5000
/** A Modbus request (at most 260 bytes) begun and not completed in this time closes its connection. */
export const MODBUS_INCOMPLETE_MS = 3000

export function connectAsset(asset: FrontedAsset): Promise<Socket> {
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

export function pipeTunnel(
  client: TLSSocket,
  upstream: Socket,
  early: Buffer,
  deps: PipeDeps & { record: ConnectionOpened; counts: LiveCounts; asset: FrontedAsset; exp: number; modbus?: ModbusGrant },
): void {
  const { recordings, connections, reports, log, counts } = deps
  const { connectionId: id, sessionId, from } = deps.record
  const recorder = recordings
    ? new ConnectionRecorder(recordings, sessionId, id, deps.asset.terminal ? { width: 80, height: 24, asset: deps.asset.path } : undefined)
    : undefined
  let endCause: ConnectionEndCause | undefined
  const connection: OpenConnection = {
    id,
    sessionId,
    close(cause) {
      endCause ??= cause
      client.destroy()
      upstream.destroy()
    },
  }
  connections.add(connection)
  // The credential says when it stops being valid; no stream message is needed for that.
  const expiry = setTimeout(() => connection.close('expired'), Math.max(0, deps.exp * 1000 - Date.now()))

  const modbus = deps.modbus ? new ModbusConnection(deps.modbus) : undefined
  // The report queue notes the log on disk as it grows: a gateway killed mid-connection still reports it.
  if (modbus) counts.commands = modbus.log
  const incompleteWatch = modbus
    ? setInterval(() => {
        const since = modbus.incompleteSince
        if (since === undefined || Date.now() - since < MODBUS_INCOMPLETE_MS) return
        modbus.incomplete()
        connection.close('protocol-error')
      }, 250)
    : undefined

  client.on('data', (chunk: Buffer) => {
    recorder?.record('>', chunk)
    if (!modbus) {
      counts.toAsset += chunk.length
      if (!upstream.write(chunk)) client.pause()
      return
    }
    const step = modbus.fromClient(chunk)
    if (step.malformed) {
      log(`connection ${id} of ${sessionId}: malformed Modbus request (${step.malformed}); closed`)
      return connection.close('protocol-error')
    }
    for (const answer of step.answer) {
      recorder?.record('<', answer)
      client.write(answer)
    }
    let full = false
    for (const frame of step.forward) {
      counts.toAsset += frame.length
      full = !upstream.write(frame) || full
    }
    if (full) client.pause()
  })
  upstream.on('drain', () => client.resume())
  upstream.on('data', (chunk: Buffer) => {
    modbus?.fromAsset(chunk)
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
    clearInterval(incompleteWatch)
    connections.remove(connection)
    const endedAt = new Date().toISOString()
    void (async () => {
      const files = recorder ? await recorder.close() : undefined
      const record: ConnectionRecord = {
        ...deps.record, endedAt, bytesToAsset: counts.toAsset, bytesFromAsset: counts.fromAsset, endCause: endCause ?? 'client-closed', ...(files ?? {}),
        ...(modbus ? { commands: modbus.log } : {}),
      }
      log(`connection ${id} of ${sessionId} from ${from} ended (${record.endCause}): ${counts.toAsset} bytes to the asset, ${counts.fromAsset} back`)
      await reports.closed(record)
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

  // What happened while the record was being written: the connection is over before it began.
  const over: ConnectionEndCause | undefined = client.destroyed ? 'client-closed' : deps.state.stopping ? 'gateway-stopped' : deps.ended.cause(sessionId)
  if (over) return connection.close(over)
  const ok = encodeFrame({ type: 'ok', sessionId, connectionId: id })
  client.write(ok)
  log(`connection ${id} of ${sessionId} from ${from} to ${deps.asset.path} (${deps.asset.host}:${deps.asset.port})`)
  if (early.length > 0) client.emit('data', early)
  client.resume()
}
