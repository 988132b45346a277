// The loopback port `jit connect` offers (or the Unix socket in its private folder that `jit ssh`
// offers ssh's ProxyCommand): each connection to it becomes one tunnel through the asset's
// gateway. A refused tunnel closes the local connection and says why on stderr; a tunnel the
// gateway cuts (the session ended) closes the local connection at once.
import { createServer, type Server, type Socket } from 'node:net'
import { TUNNEL_SOCKET_BUFFER_BYTES } from '../../wire/gateway.js'
import { openTunnel, type TunnelTarget } from './tunnel-client.js'

export interface LocalPort {
  /** The TCP port listened on (0 for a Unix socket). */
  port: number
  /** Stops listening and closes every tunnel. */
  close(): Promise<void>
}

/** A TCP port on 127.0.0.1 (0: any free one), or a Unix socket path. */
export type LocalAddress = number | { path: string }

export interface LocalPortHooks {
  /** A tunnel was closed from the gateway's side (it cuts every tunnel of a session that ended). */
  onTunnelCut?(): void
}

export async function listenLocal(where: LocalAddress, target: TunnelTarget, say: { warn(line: string): void }, hooks: LocalPortHooks = {}): Promise<LocalPort> {
  const open = new Set<Socket>()
  const server: Server = createServer({ noDelay: true, pauseOnConnect: true, highWaterMark: TUNNEL_SOCKET_BUFFER_BYTES }, (local) => {
    open.add(local)
    local.on('error', () => {})
    local.once('close', () => open.delete(local))
    openTunnel(target).then(
      ({ socket, early }) => {
        if (local.destroyed) return socket.destroy()
        if (early.length > 0) local.write(early)
        socket.pipe(local)
        local.pipe(socket)
        socket.once('close', () => {
          if (!local.destroyed) hooks.onTunnelCut?.()
          local.destroy()
        })
        local.once('close', () => socket.destroy())
        socket.resume()
        local.resume()
      },
      (error: Error) => {
        say.warn(`Connection from ${local.remotePort ? `port ${local.remotePort}` : 'a local client'} not tunnelled: ${error.message}.`)
        local.destroy()
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(typeof where === 'number' ? { port: where, host: '127.0.0.1' } : { path: where.path }, () => resolve())
  })
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
