// The ProxyCommand relay of jit ssh through a gateway, against a real Unix socket: bytes both
// ways, and the end of the tunnel ends the relay at once (that is what cuts ssh).
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { relayStdio } from '../../../../src/cli/ssh/proxy-relay.js'
import { UsageError } from '../../../../src/errors.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function tunnelSocket(): Promise<{ path: string; accepted: Promise<Socket>; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-relay-test-'))
  dirs.push(dir)
  const path = join(dir, 'tunnel.sock')
  let accept!: (socket: Socket) => void
  const accepted = new Promise<Socket>((ok) => (accept = ok))
  const server = createServer(accept)
  await new Promise<void>((ok) => server.listen(path, () => ok()))
  return { path, accepted, close: () => server.close() }
}

describe('jit ssh-proxy relay', () => {
  it('copies stdin to the tunnel and the tunnel to stdout, and ends when the tunnel is cut', async () => {
    const tunnel = await tunnelSocket()
    const input = new PassThrough()
    const output = new PassThrough()
    let received = ''
    output.on('data', (d) => (received += d))
    const relayed = relayStdio(tunnel.path, input, output)
    const far = await tunnel.accepted
    let sent = ''
    far.on('data', (d) => (sent += d))
    input.write('SSH-2.0-OpenSSH_9.2\r\n')
    far.write('SSH-2.0-OpenSSH_9.2 sshd\r\n')
    await expect.poll(() => [sent, received]).toEqual(['SSH-2.0-OpenSSH_9.2\r\n', 'SSH-2.0-OpenSSH_9.2 sshd\r\n'])
    // The gateway cut the tunnel: the relay ends without waiting for stdin.
    far.destroy()
    await relayed
    expect(input.destroyed).toBe(true)
    tunnel.close()
  })

  it('without a running jit ssh behind the socket it fails with a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-relay-test-'))
    dirs.push(dir)
    const failed = relayStdio(join(dir, 'tunnel.sock'), new PassThrough(), new PassThrough())
    await expect(failed).rejects.toBeInstanceOf(UsageError)
    await expect(failed).rejects.toThrow(/cannot reach the tunnel of a running jit ssh \(ENOENT\)/)
  })
})
