// `jit ssh-proxy SOCKET` without oclif. ssh starts the relay for every connection through a
// gateway, and until it runs ssh's key exchange waits: oclif's start-up was most of the relay's
// time (docs/PERFORMANCE.md). Only the line jit ssh itself writes (gateway-route.ts: one socket
// path) is taken here; anything else (help, a flag, a missing or extra argument) goes to the oclif
// command, which parses and reports it as it always did.
import { JitError } from '../../errors.js'

/** Relays when the command line is jit ssh's own; false when oclif must run it instead. */
export async function runPlainSshProxy(args: string[]): Promise<boolean> {
  if (args.length !== 1 || args[0] === '' || args[0].startsWith('-')) return false
  const { relayStdio } = await import('./proxy-relay.js')
  try {
    await relayStdio(args[0])
  } catch (error) {
    if (!(error instanceof JitError)) throw error
    // As JitCommand.catch renders it (ssh shows the relay's stderr to the person).
    const { renderError } = await import('../error-output.js')
    await renderError(error, false)
  }
  return true
}
