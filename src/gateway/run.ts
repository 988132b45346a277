// The gateway and the KRL follower as foreground processes: read the verifier token (a file or an
// environment variable, never a flag), start, announce on stdout, stop cleanly on SIGINT/SIGTERM
// (the gateway closes every tunnel: nothing outlives it).
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { AuthError, BrokerUnreachableError, UsageError, type JitError } from '../errors.js'
import { GatewayBrokerError } from './broker-link.js'
import { startGateway, type GatewayOptions } from './gateway.js'
import { NotAKrlError, startKrlFollower, type KrlFollowOptions, type KrlFollowStarted } from './krl-follower.js'
import { DataFolderInUse } from './record-journal.js'
import { serverStopSignals } from '../util/exit-signals.js'

/** The gateway's own folder when --data is not given: per gateway name, under the user's state folder (XDG). */
export function defaultGatewayDataDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'jit', 'gateway', name.replace(/[^A-Za-z0-9_.-]/g, '_'))
}

export function readVerifierToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env, envVar = 'JIT_GATEWAY_TOKEN', who = 'gateway'): string {
  let token: string | undefined
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim()
    } catch (error) {
      throw new UsageError(`Cannot read the token file ${tokenFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`)
    }
  } else {
    token = env[envVar]?.trim()
  }
  if (!token) throw new UsageError(`The ${who} needs its verifier token.`, [`Put it in a file (--token-file F) or in ${envVar}; make one with: jit admin verifier add NAME`])
  return token
}

/** The broker refused the verifier token, or could not be reached or answer, in the CLI's terms. */
function brokerProblem(error: GatewayBrokerError, what: string): JitError {
  if (error.status === 401) return new AuthError(`The broker does not know this verifier token: ${error.message}.`, [`Register the ${what}: jit admin verifier add NAME, and give it that token.`])
  return new BrokerUnreachableError(`${error.message}.`, ['Check --broker and that the broker runs.'])
}

function untilSignalled(what: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`${new Date().toISOString()} ${what} stopping (${signal})\n`)
      resolve()
    }
    for (const signal of serverStopSignals()) process.once(signal, stop)
  })
}

/** jit admin ssh-ca krl-follow: the first KRL written, then the stream followed until SIGINT/SIGTERM. */
export async function runKrlFollowerUntilStopped(options: KrlFollowOptions, announce: (started: KrlFollowStarted) => void | Promise<void>): Promise<void> {
  let follower
  try {
    follower = await startKrlFollower(options)
  } catch (error) {
    if (error instanceof GatewayBrokerError) throw brokerProblem(error, 'KRL follower')
    if (error instanceof NotAKrlError) throw new BrokerUnreachableError(`${error.message}.`, ['Check --broker: it must name the jit broker itself.'])
    const e = error as NodeJS.ErrnoException
    if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') throw new UsageError(`Not allowed to write ${options.out} (${e.code}).`, ['Run it as the user that may write the RevokedKeys file, or pick another --out.'])
    throw error
  }
  const stopped = untilSignalled('KRL follower')
  await announce(follower.started)
  await stopped
  await follower.close()
}

export async function runGatewayUntilStopped(options: GatewayOptions, announce: (address: string) => void): Promise<void> {
  let gateway
  try {
    gateway = await startGateway(options)
  } catch (error) {
    if (error instanceof GatewayBrokerError) throw brokerProblem(error, 'gateway')
    if (error instanceof DataFolderInUse) throw new UsageError(`${error.message[0].toUpperCase()}${error.message.slice(1)}.`, ['Give each gateway its own --data folder, or stop the other one first.'])
    const e = error as NodeJS.ErrnoException
    if (e.path?.startsWith(options.dataDir) && e.code) throw new UsageError(`Cannot use the data folder ${options.dataDir}: ${e.code}.`, ['Give the gateway a folder it may write (--data DIR).'])
    if (e.code === 'EADDRINUSE') throw new UsageError(`${options.host}:${options.port} is already in use.`, ['Pick another port with --listen.'])
    if (e.code === 'EACCES') throw new UsageError(`Not allowed to listen on ${options.host}:${options.port}.`)
    if (e.code === 'ENOENT') throw new UsageError(`File not found: ${e.path ?? e.message}.`)
    if (/verifier token belongs/.test(e.message)) throw new UsageError(`${e.message}.`)
    throw error
  }
  // Listening for the stop signals before the address is out: whoever reads it may stop us at once.
  const stopped = untilSignalled('gateway')
  announce(gateway.address)
  await stopped
  await gateway.close()
}
