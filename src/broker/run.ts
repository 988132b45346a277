// The broker as a foreground process: start, announce the URL on stdout, reload the policy on
// SIGHUP, stop cleanly on SIGINT/SIGTERM.
import { PolicyLoadError } from '../policy/load.js'
import { UsageError } from '../errors.js'
import { startBroker, type BrokerOptions } from './server.js'
import { serverStopSignals } from '../util/exit-signals.js'

export async function runBrokerUntilStopped(options: BrokerOptions, announce: (url: string) => void): Promise<void> {
  let broker
  try {
    broker = await startBroker(options)
  } catch (error) {
    if (error instanceof PolicyLoadError) throw new UsageError(`The policy file has errors:\n${error.message}`, ['Fix them; jit policy check FILE shows the same list.'])
    const e = error as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE') throw new UsageError(`${options.host}:${options.port} is already in use.`, ['Pick another port with --listen.'])
    if (e.code === 'EACCES') throw new UsageError(`Not allowed to listen on ${options.host}:${options.port}.`)
    if (e.code === 'ENOENT') throw new UsageError(`File not found: ${e.path ?? e.message}.`)
    throw error
  }
  const hangup = () => broker.reloadPolicy('SIGHUP')
  // On Windows SIGHUP is the console closing: a stop, not a reload (the policy file is watched anyway).
  const reloadsOnHangup = !serverStopSignals().includes('SIGHUP')
  if (reloadsOnHangup) process.on('SIGHUP', hangup)
  // Listening for the stop signals before the URL is out: whoever reads it may stop us at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`${new Date().toISOString()} broker stopping (${signal})\n`)
      resolve()
    }
    for (const signal of serverStopSignals()) process.once(signal, stop)
  })
  announce(broker.url)
  await stopped
  process.off('SIGHUP', hangup)
  await broker.close()
}
