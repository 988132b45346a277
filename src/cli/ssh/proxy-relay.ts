// The far end of ssh's ProxyCommand for `jit ssh` through a gateway: copies ssh's stdin to the
// tunnel socket that the running `jit ssh` holds, and the socket to ssh's stdout. When the tunnel
// closes (the gateway cut it because the session ended), the relay ends at once, and with it
// ssh's connection.
import { connect } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import { UsageError } from '../../errors.js'

export function relayStdio(socketPath: string, input: Readable = process.stdin, output: Writable = process.stdout): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath)
    let connected = false
    socket.once('connect', () => {
      connected = true
      input.pipe(socket)
      socket.pipe(output)
    })
    socket.once('error', (error) => {
      if (!connected) reject(new UsageError(`jit ssh-proxy cannot reach the tunnel of a running jit ssh (${(error as NodeJS.ErrnoException).code ?? error.message}).`, ['It is run by jit ssh as ssh\'s ProxyCommand; use jit ssh ASSET.']))
    })
    socket.once('close', () => {
      // Reading stdin would keep this process, and ssh's connection, alive.
      input.unpipe(socket)
      input.destroy()
      if (connected) resolve()
    })
  })
}
