// A free loopback TCP port for a server that must be told its port (sshd, PostgreSQL). No
// imports but Node's own, so the bench (which runs on Node's type stripping, where a `.js`
// specifier does not find a `.ts` file) can load the helpers built on it.
import { createServer } from 'node:net'

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()))
  const { port } = server.address() as { port: number }
  await new Promise<void>((ok) => server.close(() => ok()))
  return port
}
