// The gateway's TLS listener and its deadlines: a client has TUNNEL_HANDSHAKE_TIMEOUT_MS to start
// TLS and as long again to finish the tunnel handshake; handshakes in progress hold a slot
// (handshake-slots.ts) from the first TCP packet, so clients that never finish cannot hold the
// gateway's sockets without end, and one source cannot hold them all.
import type { Socket } from 'node:net'
import { createServer, type Server, type TLSSocket } from 'node:tls'
import { TUNNEL_HANDSHAKE_TIMEOUT_MS } from '../wire/gateway.js'
import { HandshakeSlots, sourceOf } from './handshake-slots.js'

export interface ListenerOptions {
  cert: Buffer
  key: Buffer
  log: (line: string) => void
  /** Serves one TLS connection; `release` frees its handshake slot (once the tunnel is admitted). */
  serve: (socket: TLSSocket, release: () => void) => Promise<void>
}

export function createListener({ cert, key, log, serve }: ListenerOptions): Server {
  const slots = new HandshakeSlots()
  // The slot and deadline of each connection not yet secured, by peer (host:port): the TLS socket
  // is told apart from others by its peer only.
  const pending = new Map<string, { release: () => void; deadline: NodeJS.Timeout }>()
  // Sources turned away, so that a flood is logged once, not once per connection.
  const turnedAway = new Set<string>()

  const server = createServer({ cert, key, minVersion: 'TLSv1.2', handshakeTimeout: TUNNEL_HANDSHAKE_TIMEOUT_MS }, (socket) => {
    // Request/response protocols (Modbus, a shell) must not wait on Nagle's algorithm.
    socket.setNoDelay(true)
    const peer = `${socket.remoteAddress}:${socket.remotePort}`
    const entry = pending.get(peer)
    pending.delete(peer)
    if (!entry) {
      socket.destroy()
      return
    }
    // From here the tunnel handshake's own deadline (handshake.ts) holds.
    clearTimeout(entry.deadline)
    void serve(socket, entry.release).catch((error: Error) => {
      log(`error: tunnel from ${socket.remoteAddress}: ${error.message}`)
      socket.destroy()
    }).finally(entry.release)
  })
  server.on('connection', (raw: Socket) => {
    const address = raw.remoteAddress ?? ''
    const release = slots.take(address)
    if (!release) {
      const source = sourceOf(address)
      if (!turnedAway.has(source)) log(`handshakes: limit reached (${slots.total} in progress); turning away new connections from ${source} until some finish`)
      turnedAway.add(source)
      raw.destroy()
      return
    }
    turnedAway.delete(sourceOf(address))
    const peer = `${raw.remoteAddress}:${raw.remotePort}`
    // A client that never starts TLS is not covered by handshakeTimeout: its raw socket gets a deadline of its own.
    pending.set(peer, { release, deadline: setTimeout(() => raw.destroy(), TUNNEL_HANDSHAKE_TIMEOUT_MS) })
    raw.once('close', () => {
      const entry = pending.get(peer)
      if (entry) clearTimeout(entry.deadline)
      pending.delete(peer)
      release()
    })
  })
  server.on('tlsClientError', () => {})
  server.on('error', (error) => log(`error: listener: ${error.message}`))
  return server
}
