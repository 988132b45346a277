// The gateway as a foreground process: read its verifier token (a file or JIT_GATEWAY_TOKEN, never
// a flag), start, announce the address on stdout, stop cleanly on SIGINT/SIGTERM (closing every
// tunnel: nothing outlives the gateway).
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { AuthError, BrokerUnreachableError, UsageError } from '../errors.js'
import { GatewayBrokerError } from './broker-link.js'
import { startGateway, type GatewayOptions } from './gateway.js'
import { DataFolderInUse } from './record-journal.js'

/** The gateway's own folder when --data is not given: per gateway name, under the user's state folder (XDG). */
export function defaultGatewayDataDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'jit', 'gateway', name.replace(/[^A-Za-z0-9_.-]/g, '_'))
}

export function readGatewayToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  let token: string | undefined
  if (tokenFile) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim()
    } catch (error) {
      throw new UsageError(`Cannot read the token file ${tokenFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`)
    }
  } else {
    token = env.JIT_GATEWAY_TOKEN?.trim()
  }
  if (!token) throw new UsageError('The gateway needs its verifier token.', ['Put it in a file (--token-file F) or in JIT_GATEWAY_TOKEN; make one with: jit admin verifier add NAME'])
  return token
}

export async function runGatewayUntilStopped(options: GatewayOptions, announce: (address: string) => void): Promise<void> {
  let gateway
  try {
    gateway = await startGateway(options)
  } catch (error) {
    if (error instanceof GatewayBrokerError) {
      if (error.status === 401) throw new AuthError(`The broker does not know this verifier token: ${error.message}.`, ['Register the gateway: jit admin verifier add NAME, and give the gateway that token.'])
      throw new BrokerUnreachableError(`${error.message}.`, ['Check --broker and that the broker runs.'])
    }
    if (error instanceof DataFolderInUse) throw new UsageError(`${error.message[0].toUpperCase()}${error.message.slice(1)}.`, ['Give each gateway its own --data folder, or stop the other one first.'])
    const e = error as NodeJS.ErrnoException
    if (e.path?.startsWith(options.dataDir) && e.code) throw new UsageError(`Cannot use the data folder ${options.dataDir}: ${e.code}.`, ['Give the gateway a folder it may write (--data DIR).'])
    if (e.code === 'EADDRINUSE') throw new UsageError(`${options.host}:${options.port} is already in use.`, ['Pick another port with --listen.'])
    if (e.code === 'EACCES') throw new UsageError(`Not allowed to listen on ${options.host}:${options.port}.`)
    if (e.code === 'ENOENT') throw new UsageError(`File not found: ${e.path ?? e.message}.`)
    if (/verifier token belongs/.test(e.message)) throw new UsageError(`${e.message}.`)
    throw error
  }
  announce(gateway.address)
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`${new Date().toISOString()} gateway stopping (${signal})\n`)
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await gateway.close()
}
