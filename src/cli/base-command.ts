// The base of every command: shared flags with JIT_* twins, one CliContext, and error rendering
// that maps each JitError to its exit code and next steps (JSON on stdout under --json).
import { Command, Flags, Interfaces } from '@oclif/core'
import { ExitCode, JitError } from '../errors.js'
import type { CommandShape } from './usage-errors.js'
import type { DrainResult } from './sessions/journal-drain.js'
import { hasPendingRevocations } from './sessions/revocation-journal.js'
import { CliContext } from './context.js'
import { GLOBAL_FLAGS, globalOptions } from './global-flags.js'

type GlobalFlags = typeof GLOBAL_FLAGS
/** The oclif flag of each global flag: a string flag with a default is always a string. */
type OclifGlobalFlags = {
  [K in keyof GlobalFlags]: GlobalFlags[K] extends { type: 'boolean' } ? Interfaces.BooleanFlag<boolean>
    : GlobalFlags[K] extends { default: string } ? Interfaces.OptionFlag<string> : Interfaces.OptionFlag<string | undefined>
}

/** The global flags, as oclif declares them, from the one table (src/cli/global-flags.ts). */
function oclifGlobalFlags(): OclifGlobalFlags {
  const flags = Object.entries(GLOBAL_FLAGS).map(([name, flag]) => {
    const common = { env: flag.env, helpGroup: 'GLOBAL', summary: flag.summary }
    return [name, flag.type === 'boolean' ? Flags.boolean(common) : Flags.string({ ...common, ...('default' in flag ? { default: flag.default } : {}) })]
  })
  return Object.fromEntries(flags) as OclifGlobalFlags
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof JitCommand)['baseFlags'] & T['flags']>

export abstract class JitCommand extends Command {
  static enableJsonFlag = true

  static baseFlags = oclifGlobalFlags()

  /**
   * Whether this command does the start-up housekeeping (retry queued revocations, tell decided
   * requests, mention a due review). Off only for shell completion, which must stay silent.
   */
  static housekeeping = true
  /** Whether a due break-glass review is mentioned before this command runs. */
  static reviewGate = true
  /**
   * Whether this command opens a session. Only these ask for a due review first at a terminal
   * (the broker would refuse them anyway); the others just say it is due and run.
   */
  static opensSession = false

  #cli?: CliContext
  /** What the start-up retry of queued revocations did, when there were any. */
  protected journalDrain?: DrainResult

  /**
   * Before every command: retry revocations that could not reach the broker before, then ask for
   * a due break-glass review. Both cost one stat when there is nothing to do.
   */
  async init(): Promise<void> {
    await super.init()
    const ctor = this.constructor as typeof JitCommand
    if (!ctor.housekeeping) return
    await this.drainRevocationJournal()
    await this.tellDecidedRequests(ctor)
    if (!ctor.reviewGate) return
    const gate = await import('./breakglass/due-review-prompt.js')
    if (!gate.markerExists()) return
    const { flags } = await this.parse(ctor)
    await this.askForDueReviews(gate, flags as { profile: string; 'no-prompt'?: boolean }, ctor.opensSession)
  }

  private async drainRevocationJournal(): Promise<void> {
    if (this.id?.startsWith('broker') || this.id?.startsWith('admin') || this.id?.startsWith('gateway') || !hasPendingRevocations()) return
    const [{ drainJournal }, { ui }] = await Promise.all([import('./sessions/journal-drain.js'), import('./output.js')])
    this.journalDrain = await drainJournal()
    for (const entry of this.journalDrain.confirmed) ui.ok(`Revoked ${entry.sessionId}, which was queued while the broker was unreachable.`)
    if (this.journalDrain.pending.length > 0) {
      ui.warn(`${this.journalDrain.pending.length} revocation(s) still pending (${this.journalDrain.pending.map((e) => `${e.sessionId}: ${e.problem}`).join('; ')}); jit retries on every run, or now with: jit revoke --pending`)
    }
  }

  /** Requests left pending with --no-wait: the next command says once each is decided. */
  private async tellDecidedRequests(ctor: typeof JitCommand): Promise<void> {
    if (this.id?.startsWith('broker') || this.id?.startsWith('admin') || this.id === 'sessions:pickup') return
    const pending = await import('./sessions/pending-requests.js')
    if (!pending.anyPending()) return
    const { flags } = await this.parse(ctor)
    if (!pending.mayHaveDecided((flags as { profile: string }).profile)) return
    let decided
    try {
      decided = await pending.decidedRequests(this.cli(flags as { profile: string }))
    } catch {
      return // Unreachable or not enrolled: the command itself reports that; asked again next time.
    }
    const { ui } = await import('./output.js')
    for (const request of decided) (request.state === 'approved' ? ui.ok : ui.warn)(pending.decisionNotice(request))
  }

  /** The next command after a break-glass session asks for its review first (at a terminal). */
  private async askForDueReviews(gate: typeof import('./breakglass/due-review-prompt.js'), flags: { profile: string; 'no-prompt'?: boolean }, opensSession: boolean): Promise<void> {
    if (!gate.mayHaveDueReviews(flags.profile)) return
    const cli = this.cli(flags)
    let due
    try {
      due = await gate.dueReviews(cli)
    } catch {
      return // The broker enforces the gate itself; an unreachable broker is reported by the command.
    }
    if (due.length === 0) return
    const { ui } = await import('./output.js')
    const canPrompt = this.canPrompt(flags)
    if (!opensSession || !canPrompt) {
      ui.warn(`Break-glass review ${due[0].id} is due; new sessions are blocked until it is filed: jit review ${due[0].id}${canPrompt ? '' : ' --file review.yaml'}`)
      return
    }
    const { promptReview } = await import('./breakglass/review-form.js')
    for (const review of due) {
      await gate.fileReview(cli, review.id, await promptReview(review))
      ui.ok(`Review ${review.id} filed.`)
    }
  }

  protected cli(flags: { profile: string; broker?: string; 'ca-file'?: string; insecure?: boolean }): CliContext {
    this.#cli ??= new CliContext(globalOptions(flags))
    return this.#cli
  }

  /** Prompts are allowed only for a person at a terminal. */
  protected canPrompt(flags: { 'no-prompt'?: boolean }): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY && !flags['no-prompt'] && !this.jsonEnabled())
  }

  protected async catch(error: Error & { oclif?: { exit?: number }; code?: string }): Promise<unknown> {
    const ctor = this.constructor as typeof JitCommand
    const { renderError } = await import('./error-output.js')
    const shape = { id: this.id, flags: { ...ctor.baseFlags, ...ctor.flags }, args: ctor.args ?? {} }
    await renderError(await toJitError(error, shape), this.jsonEnabled())
    return undefined
  }

  protected async finally(error: Error | undefined): Promise<unknown> {
    await this.#cli?.close()
    return super.finally(error)
  }
}

async function toJitError(error: Error & { oclif?: { exit?: number }; code?: string }, shape: CommandShape): Promise<JitError> {
  if (error instanceof JitError) return error
  // oclif's own parse errors (missing flag or argument, bad value, unknown flag) are usage errors.
  const usage = (await import('./usage-errors.js')).usageErrorFrom(error, shape)
  if (usage) return usage
  if (error.oclif?.exit !== undefined && error.oclif.exit !== 1) {
    return Object.assign(new JitError(error.message), { exitCode: error.oclif.exit as ExitCode })
  }
  return new JitError(`Unexpected error: ${error.message}`, [
    'This is a bug in jit. Please report it with the command you ran and this message (run with DEBUG=jit* for details).',
  ])
}
