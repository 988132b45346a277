// Where jit ssh's local sockets live (the SSH agent, the relay to a gateway). On Linux and macOS:
// a Unix socket in jit's private 0700 folder. On Windows, Node and Windows' own OpenSSH speak
// named pipes instead (ssh takes a pipe for SSH_AUTH_SOCK); a pipe's name is not a file, so it is
// made unguessable, and Node's pipe server lets only this user, SYSTEM and Administrators write to it.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'

export function localSocketPath(dir: string, name: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return `\\\\.\\pipe\\jit-${name}-${process.pid}-${randomBytes(12).toString('hex')}`
  return join(dir, `${name}.sock`)
}
