// Runs a command with a session's credential in its environment and revokes the session when
// the command ends, however it ends. Signals aimed at jit go to the command first; jit waits
// for it, revokes, then reports the command's own exit code (128+N for signal N).
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import type { CliContext } from '../cli/context.js'
import { BrokerUnreachableError, KeychainError, UsageError } from '../errors.js'
import type { Grant } from '../wire/api.js'
import { credentialEnv } from './local-sessions.js'
import { addToJournal, removeFromJournal } from './revocation-journal.js'

export interface RunResult {
  sessionId: string
  exitCode: number
  signal?: string
  cached: boolean
  revoked: boolean
  /** Set when the broker could not be reached: the revocation waits in the journal. */
  revocationPending: boolean
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const

export async function runWithCredential(cli: CliContext, grant: Grant, argv: string[], options: { cache: boolean; onStarted?: () => void }): Promise<RunResult> {
  const result: RunResult = { sessionId: grant.session.id, exitCode: 1, cached: false, revoked: false, revocationPending: false }
  try {
    if (argv.length === 0) throw new UsageError('No command to run.', ['Put it after --, e.g. jit exec ... -- ssh plc-07'])
    if (options.cache && grant.session.cacheAllowed) {
      await cli.cache().put(grant)
      result.cached = true
    }
    const outcome = await runChild(argv, { ...process.env, ...credentialEnv(grant) }, options.onStarted)
    Object.assign(result, outcome)
    return result
  } finally {
    await endSession(cli, grant.session.id, `command ended (${result.signal ?? `exit ${result.exitCode}`})`, result)
  }
}

/** Revokes at the broker and drops the cached credential; an unreachable broker goes to the journal. */
export async function endSession(cli: CliContext, sessionId: string, reason: string, result: Pick<RunResult, 'revoked' | 'revocationPending'>): Promise<void> {
  let cacheError: unknown
  try {
    await cli.cache().delete(sessionId)
  } catch (error) {
    cacheError = error
  }
  try {
    await (await cli.client()).post(`/sessions/${encodeURIComponent(sessionId)}/revoke`, { reason })
    result.revoked = true
    removeFromJournal(sessionId)
  } catch (error) {
    if (!(error instanceof BrokerUnreachableError)) throw error
    addToJournal({ sessionId, profile: cli.options.profile, broker: cli.brokerUrl, reason, since: new Date().toISOString() })
    result.revocationPending = true
  }
  if (cacheError) throw cacheError instanceof KeychainError ? cacheError : new KeychainError(`Could not remove the cached credential: ${(cacheError as Error).message}`)
}

function runChild(argv: string[], env: NodeJS.ProcessEnv, onStarted?: () => void): Promise<{ exitCode: number; signal?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env })
    // At a terminal, Ctrl-C already reaches the command (same foreground process group);
    // forwarding it again would hit the command twice. Anything else aimed at jit is forwarded.
    const forward = (signal: NodeJS.Signals) => {
      if (signal === 'SIGINT' && process.stdin.isTTY) return
      child.kill(signal)
    }
    const listeners = FORWARDED.map((signal) => [signal, () => forward(signal)] as const)
    for (const [signal, listener] of listeners) process.on(signal, listener)
    const cleanup = () => {
      for (const [signal, listener] of listeners) process.removeListener(signal, listener)
    }
    child.once('spawn', () => onStarted?.())
    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanup()
      reject(new UsageError(`Cannot run ${argv[0]}: ${error.code === 'ENOENT' ? 'command not found' : error.message}.`))
    })
    child.once('exit', (code, signal) => {
      cleanup()
      if (signal) resolve({ exitCode: 128 + (constants.signals[signal] ?? 0), signal })
      else resolve({ exitCode: code ?? 1 })
    })
  })
}
