// The gateway's TLS listener and its deadlines: a client has TUNNEL_HANDSHAKE_TIMEOUT_MS to start
// TLS and as long again to finish the tunnel handshake; handshakes in progress are bounded, so
// clients that never finish cannot hold the gateway's sockets without end.
import type { Socket } from 'node:net'
import { createServer, type Server, type TLSSocket } from 'node:tls'
import { TUNNEL_HANDSHAKE_TIMEOUT_MS } from '../wire/gateway.js'

const MAX_PENDING_HANDSHAKES = 256

export interface ListenerOptions {
  cert: Buffer
  key: Buffer
  log: (line: string) => void
  /** Serves one TLS connection; `release` frees its handshake slot (once the tunnel is admitted). */
  serve: (socket: TLSSocket, release: () => void) => Promise<void>
}

export function createListener({ cert, key, log, serve }: ListenerOptions): Server {
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
    void serve(socket, release).catch((error: Error) => {
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
  return server
}
