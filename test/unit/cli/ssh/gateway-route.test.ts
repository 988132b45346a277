// The ProxyCommand of jit ssh through a gateway: ssh expands `%` tokens in it and hands it to the
// user's shell after `exec `; whatever the paths hold, the relay must get exactly its argv.
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { proxyCommand } from '../../../../src/cli/ssh/gateway-route.js'
import { localSocketPath } from '../../../../src/cli/ssh/local-socket.js'

/** What ssh does with a ProxyCommand: `%%` becomes `%` and `%h`, `%p`... their values, then `$SHELL -c "exec COMMAND"`. */
function runAsSshWould(command: string): string[] {
  const expanded = command.replace(/%(.)/g, (_, token: string) => (token === '%' ? '%' : `[${token} expanded]`))
  return JSON.parse(execFileSync('/bin/sh', ['-c', `exec ${expanded}`], { encoding: 'utf8' }))
}

describe('the ProxyCommand of jit ssh through a gateway', () => {
  const printArgv = [process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))']

  it('reaches the relay with the socket path as one word, however odd the path', () => {
    for (const socket of ['/tmp/jit-ssh-1-abc/tunnel.sock', "/tmp/it's 100% a \"path\" $HOME `id`/tunnel.sock", '/tmp/%h %p %r/tunnel.sock']) {
      expect(runAsSshWould(proxyCommand(socket, printArgv))).toEqual(['ssh-proxy', socket])
    }
  })

  it('runs this Node and this jit by default', () => {
    const command = proxyCommand('/tmp/x/tunnel.sock')
    expect(command.startsWith(`'${process.execPath.replaceAll('%', '%%')}' '${process.argv[1].replaceAll('%', '%%')}' 'ssh-proxy' `)).toBe(true)
  })
})

describe('jit ssh on Windows', () => {
  it('quotes the proxy command for Windows\' OpenSSH, which starts it without a POSIX shell', () => {
    const command = proxyCommand('\\\\.\\pipe\\jit-tunnel-1-ab', ['C:\\Program Files\\jit\\jit.exe'], 'win32')
    expect(command).toBe('"C:\\Program Files\\jit\\jit.exe" "ssh-proxy" "\\\\.\\pipe\\jit-tunnel-1-ab"')
  })

  it('puts the local sockets on named pipes with unguessable names', () => {
    const a = localSocketPath('C:\\tmp\\x', 'agent', 'win32')
    expect(a).toMatch(/^\\\\\.\\pipe\\jit-agent-\d+-[0-9a-f]{24}$/)
    expect(localSocketPath('C:\\tmp\\x', 'agent', 'win32')).not.toBe(a)
    expect(localSocketPath('/tmp/x', 'agent', 'linux')).toBe('/tmp/x/agent.sock')
  })
})
