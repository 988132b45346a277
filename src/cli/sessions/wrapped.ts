// What `jit exec` and `jit shell` share: open a session (waiting for approval with a spinner),
// run the command with its credential, and tell the person how it ended. Status goes to stderr.
import { printable } from '../../util/printable.js'
import type { AccessParams } from './request-access.js'
import type { RunOptions, RunResult } from './run-with-credential.js'
import type { CliContext } from '../context.js'

export interface WrappedOptions extends AccessParams {
  timeout: string
  noCache: boolean
  quiet: boolean
  /** How the command is named in status lines ("plc-tool", "a subshell"). */
  label: string
  /** Said once the command runs, e.g. how to leave a subshell. */
  hint?: string
  /** Sets up the command once the session is armed (see RunOptions.prepare). */
  prepare?: RunOptions['prepare']
  stopWhenSessionEnds?: boolean
}

export async function openAndRun(cli: CliContext, argv: string[], options: WrappedOptions): Promise<RunResult> {
  const [{ requestHeldInMemory }, { runWithCredential, cacheLeftBehindWarning }, { ui }] = await Promise.all([
    import('./request-access.js'),
    import('./run-with-credential.js'),
    import('../output.js'),
  ])
  const say = (fn: () => void) => options.quiet || fn()
  const grant = await requestHeldInMemory(cli, options, options.timeout)
  const result = await runWithCredential(cli, grant, argv, {
    cache: !options.noCache,
    prepare: options.prepare,
    stopWhenSessionEnds: options.stopWhenSessionEnds,
    onStarted: () => say(() => ui.info(`Session ${grant.session.id} open (${grant.session.scope} on ${grant.session.asset}); running ${options.label}${options.hint ? `. ${options.hint}` : ''}`)),
    onEndedElsewhere: (r) => ui.warn(`The broker ended session ${r.sessionId} while ${options.label} was still running (${printable(r.endReason ?? r.state)}); its credential no longer works.`),
  })
  if (result.cacheLeftBehind) ui.warn(cacheLeftBehindWarning(result))
  say(() => {
    const how = result.signal ? `died of ${result.signal}` : `exited ${result.exitCode}`
    if (result.revoked) ui.ok(`Revoked session ${result.sessionId}; ${options.label} ${how}.`)
    if (result.revocationPending) ui.warn(`Broker unreachable: revocation of ${result.sessionId} is queued and will be retried on every jit run (or now: jit revoke --pending). ${options.label} ${how}.`)
  })
  return result
}
