// The gateway as a foreground process: read its verifier token (a file or JIT_GATEWAY_TOKEN, never
// a flag), start, announce the address on stdout, stop cleanly on SIGINT/SIGTERM (closing every
// tunnel: nothing outlives the gateway).
import { readFileSync } from 'node:fs'
import { AuthError, BrokerUnreachableError, UsageError } from '../errors.js'
import { GatewayBrokerError } from './broker-link.js'
import { startGateway, type GatewayOptions } from './gateway.js'
import { serverStopSignals } from '../util/exit-signals.js'

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
    const e = error as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE') throw new UsageError(`${options.host}:${options.port} is already in use.`, ['Pick another port with --listen.'])
    if (e.code === 'EACCES') throw new UsageError(`Not allowed to listen on ${options.host}:${options.port}.`)
    if (e.code === 'ENOENT') throw new UsageError(`File not found: ${e.path ?? e.message}.`)
    if (/verifier token belongs/.test(e.message)) throw new UsageError(`${e.message}.`)
    throw error
  }
  // Listening for the stop signals before the address is out: whoever reads it may stop us at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`${new Date().toISOString()} gateway stopping (${signal})\n`)
      resolve()
    }
    for (const signal of serverStopSignals()) process.once(signal, stop)
  })
  announce(gateway.address)
  await stopped
  await gateway.close()
}
