// `jit sessions` (the human listing) without oclif's runtime, for start-up time: loading oclif
// and its config is about a third of the command's time (docs/PERFORMANCE.md). It takes only the
// plainest command lines: `sessions` with the global flags (src/cli/global-flags.ts, the table the
// oclif commands take them from) given once each as `--flag value`, `--flag=value` or a bare boolean, no --json, no JIT_CONTENT_TYPE or DEBUG, and nothing for the
// start-up housekeeping to do (no queued revocation, no request left pending, no review marker).
// Anything else (help, --json, a subcommand, a typo, a duplicate, housekeeping due, an error
// that is not a JitError) is left to oclif, which then does what it always did.
import { JitError } from '../errors.js'
import type { GlobalOptions } from './context.js'
import { GLOBAL_FLAGS, envTruthy, globalOptions, type GlobalFlagName } from './global-flags.js'

/** `--name` → the global flag it names (the table base-command.ts builds oclif's flags from). */
const BY_ARG = new Map(Object.entries(GLOBAL_FLAGS).map(([name, flag]) => [`--${name}`, { name: name as GlobalFlagName, ...flag }]))

/** The options `jit sessions` would run with, or undefined when this command line is oclif's to parse. */
export function plainSessionsOptions(args: string[], env: NodeJS.ProcessEnv): GlobalOptions | undefined {
  if (env.JIT_CONTENT_TYPE !== undefined || env.DEBUG !== undefined) return undefined
  const given = new Map<GlobalFlagName, string | true>()
  for (let i = 0; i < args.length; i++) {
    const [arg, inline] = args[i].startsWith('--') && args[i].includes('=') ? [args[i].slice(0, args[i].indexOf('=')), args[i].slice(args[i].indexOf('=') + 1)] : [args[i], undefined]
    const flag = BY_ARG.get(arg)
    if (!flag || given.has(flag.name)) return undefined
    if (flag.type === 'boolean') {
      if (inline !== undefined) return undefined
      given.set(flag.name, true)
      continue
    }
    const value = inline ?? args[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    given.set(flag.name, value)
  }
  // The env twins, read as oclif reads them: an empty variable counts as unset.
  const values: Partial<Record<GlobalFlagName, string | boolean>> = {}
  for (const [name, flag] of Object.entries(GLOBAL_FLAGS) as [GlobalFlagName, (typeof GLOBAL_FLAGS)[GlobalFlagName]][]) {
    const fromEnv = env[flag.env] || undefined
    values[name] = given.get(name) ?? (fromEnv === undefined ? undefined : flag.type === 'boolean' ? envTruthy(fromEnv) : fromEnv)
  }
  return globalOptions(values)
}

/** Whether the start-up housekeeping of JitCommand.init has anything to do (one stat each). */
async function housekeepingDue(): Promise<boolean> {
  const [journal, pending, review] = await Promise.all([import('./sessions/revocation-journal.js'), import('./sessions/pending-requests.js'), import('./breakglass/due-review-prompt.js')])
  return journal.hasPendingRevocations() || pending.anyPending() || review.markerExists()
}

/** Runs `jit sessions` when the command line is plain; false when oclif must run it instead. */
export async function runPlainSessions(args: string[]): Promise<boolean> {
  const options = plainSessionsOptions(args, process.env)
  if (!options) return false
  const modules = Promise.all([import('./context.js'), import('./sessions/local-sessions.js'), import('./sessions/sessions-table.js')])
  if (await housekeepingDue()) return false
  const [{ CliContext }, { listMySessions }, { printSessions }] = await modules
  let cli: InstanceType<typeof CliContext> | undefined
  try {
    cli = new CliContext(options)
    // The listing starts with the keychain read; the output's modules (chalk) load once the key
    // is in, while the broker answers: loaded before, they would delay the read itself.
    // (deviceKey() is the listing's own read, remembered; it throws at once when not enrolled,
    // which the listing reports.)
    const listing = listMySessions(cli)
    const context = cli
    void Promise.resolve().then(() => context.deviceKey()).then(() => import('./output.js')).catch(() => {})
    const sessions = await listing
    await printSessions(sessions, (text) => process.stdout.write(`${text}\n`))
    return true
  } catch (error) {
    // Only a JitError is rendered here, as JitCommand.catch renders it; anything else is oclif's,
    // which runs the listing again (it reads, and drops cache entries of ended sessions: harmless twice).
    if (!(error instanceof JitError)) return false
    const { renderError } = await import('./error-output.js')
    await renderError(error, false)
    return true
  } finally {
    await cli?.close()
  }
}
