// `jit ssh` to an asset behind a gateway reaches sshd only through that gateway, so that the
// gateway cuts the SSH connection the moment the session ends. ssh's ProxyCommand is the hidden
// `jit ssh-proxy SOCKET`, a relay between ssh's stdin/stdout and a Unix socket in jit's private
// (0700) agent folder; behind that socket this process opens the tunnel with jit connect's
// machinery (the gateway's certificate pinned to the broker's word, proof of possession of the
// device key). The credential and the device key stay in this process, and no TCP port is opened
// that another local user could reach. ssh still names the asset's own host and port, so its host
// key is looked up in known_hosts under that name, as for a direct login.
import type { CliContext } from '../context.js'
import { UsageError } from '../../errors.js'
import type { Grant } from '../../wire/api.js'
import { jitCommand } from '../../util/self-command.js'
import type { AssetGateway } from '../../wire/gateway.js'
import { localSocketPath } from './local-socket.js'

export interface GatewayRoute {
  gateway: string
  /** The ssh ProxyCommand that relays to this route. */
  proxyCommand: string
  /** Stops relaying and closes every tunnel. */
  close(): Promise<void>
}

/** Asks the broker where the session's gateway listens and offers tunnels to it on a socket in `dir`. */
export async function routeThroughGateway(cli: CliContext, grant: Grant, dir: string): Promise<GatewayRoute> {
  const [{ listenLocal }, { jtiOf }, { ui }] = await Promise.all([import('../connect/local-port.js'), import('../connect/tunnel-client.js'), import('../output.js')])
  let gateway: AssetGateway
  try {
    gateway = await (await cli.client()).get<AssetGateway>(`/sessions/${encodeURIComponent(grant.session.id)}/gateway`)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    throw new UsageError(`${grant.session.asset} is reached only through its gateway, and the broker cannot say where it listens: ${error.message}`, [
      'A gateway announces itself when it starts (jit gateway start); jit ssh never goes around it.',
    ])
  }
  const key = await cli.deviceKey()
  const socketPath = localSocketPath(dir, 'tunnel')
  const local = await listenLocal({ path: socketPath }, { gateway, credential: grant.credential, jti: jtiOf(grant.credential), privateKey: key.privateKey }, ui)
  return { gateway: gateway.gateway, proxyCommand: proxyCommand(socketPath), close: () => local.close() }
}

/**
 * `jit ssh-proxy SOCKET`, run by the same Node and the same jit as this process (or the same single
 * executable). ssh hands the line to the user's shell after `exec ` and expands `%` tokens in it
 * first: each word is single-quoted and each `%` doubled.
 */
export function proxyCommand(socketPath: string, jit: string[] = jitCommand(), platform: NodeJS.Platform = process.platform): string {
  // Windows' OpenSSH starts the command itself rather than through a POSIX shell: double quotes
  // there (no word of it holds one: program paths and pipe names cannot).
  const quote = platform === 'win32' ? (word: string) => `"${word}"` : (word: string) => `'${word.replaceAll("'", "'\\''")}'`
  return [...jit, 'ssh-proxy', socketPath].map(quote).join(' ').replaceAll('%', '%%')
}
