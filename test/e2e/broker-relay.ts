// A loopback TCP relay in front of a real broker, standing in for a second broker of the plant
// that the test makes fail: it drops chosen calls (closes the connection without passing them
// on) or dies as a killed broker does (every connection closed, nothing listening).
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export interface Relay {
  url: string
  /** Request lines of the calls it dropped (closed without forwarding). */
  dropped: string[]
  /** Request lines it passed on. */
  forwarded: string[]
  /** Which calls to drop: by their request line ("POST /v1/requests HTTP/1.1"). */
  drop: (requestLine: string) => boolean
  /** Dies like a killed broker: every open connection closed, nothing listening. */
  kill(): Promise<void>
}

/** Relays loopback TCP to the broker, looking at the first line of each request (undici writes a request's head in one piece). */
export async function startRelay(upstreamPort: number, port: number): Promise<Relay> {
  const sockets = new Set<Socket>()
  const relay: Relay = { url: `http://127.0.0.1:${port}`, dropped: [], forwarded: [], drop: () => false, kill: async () => {} }
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort })
    sockets.add(client).add(upstream)
    const closeBoth = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1')
      const requestLine = /^[A-Z]+ \S+ HTTP\/1\.1/.exec(text)?.[0]
      if (requestLine && relay.drop(requestLine)) {
        relay.dropped.push(requestLine)
        return closeBoth()
      }
      if (requestLine) relay.forwarded.push(requestLine)
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => client.write(chunk))
    client.on('close', closeBoth).on('error', closeBoth)
    upstream.on('close', closeBoth).on('error', closeBoth)
  })
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', () => ok()))
  relay.kill = async () => {
    const closed = new Promise<void>((ok) => server.close(() => ok()))
    for (const socket of sockets) socket.destroy()
    await closed
  }
  return relay
}
