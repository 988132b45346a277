// Runs a command with a session's credential in its environment and revokes the session when
// the command ends, however it ends: normal or non-zero exit, a signal (Ctrl-C, SIGTERM, SIGHUP
// when the terminal closes), a crash, or an error inside jit. From the moment the session is in
// hand until it is revoked, signals aimed at jit cannot kill it: they go to the command (or, before
// it starts, keep it from starting); jit waits for it, revokes, then reports the command's own exit
// code (128+N for signal N). While the command runs, heartbeats keep the broker's dead-man's
// switch fed, so a jit that is killed outright is revoked by the broker after the grace period.
import { spawn, type ChildProcess } from 'node:child_process'
import { constants } from 'node:os'
import type { CliContext } from '../context.js'
import { JitError, UsageError } from '../../errors.js'
import type { Grant, HeartbeatResult } from '../../wire/api.js'
import { startHeartbeat, type HeartbeatLoop } from './heartbeat.js'
import { credentialEnv } from './local-sessions.js'
import { revokeFromDevice } from './revoke.js'
import { fromKeyboard, sessionEndingSignals } from '../../util/exit-signals.js'

export interface RunResult {
  sessionId: string
  exitCode: number
  signal?: string
  cached: boolean
  revoked: boolean
  /** Set when the broker could not be reached: the revocation waits in the journal. */
  revocationPending: boolean
  /**
   * Set when the cached credential could not be removed from the keychain (locked or gone). The
   * session is revoked (or queued), so the credential is dead; the session index marks it ended,
   * and the next read of the cache deletes it instead of handing it out.
   */
  cacheLeftBehind?: string
}

/** The warning for a credential the keychain would not let go of (stderr, beside the command's exit code). */
export function cacheLeftBehindWarning(result: Pick<RunResult, 'sessionId' | 'revoked' | 'cacheLeftBehind'>): string {
  return `Could not remove the cached credential of ${result.sessionId} from the OS keychain (${result.cacheLeftBehind}). The session is ${result.revoked ? 'revoked' : 'queued for revocation'}, so the credential no longer works; the next read of the cache (jit sessions, jit credential) deletes it.`
}

export interface RunOptions {
  cache: boolean
  /** More environment for the command (e.g. JIT_LOCAL_PORT from jit connect). */
  env?: Record<string, string>
  /**
   * Hand the command the credential (JIT_TOKEN and the session's facts); default yes. jit connect
   * says no: its tunnel proves possession itself, and a tool behind localhost needs no token.
   */
  credentialInEnv?: boolean
  onStarted?: () => void
  /** The broker ended the session while the command still ran (revoked elsewhere, expired, heartbeats lost). */
  onEndedElsewhere?: (result: HeartbeatResult) => void
  /**
   * What the command needs beyond the credential (jit ssh: a certificate in an agent of its own),
   * made once the session is armed. Its argv and environment replace the default ones; dispose
   * runs on every exit path, before the session ends.
   */
  prepare?: (grant: Grant) => Promise<PreparedCommand>
  /** false for a session this run only borrows (jit ssh on an existing session): no heartbeat, no revoke. */
  ownsSession?: boolean
  /** The command is of no use once the broker ends the session (ssh with its certificate): end it then (SIGTERM). */
  stopWhenSessionEnds?: boolean
}

export interface PreparedCommand {
  argv?: string[]
  env?: NodeJS.ProcessEnv
  dispose(): Promise<void>
}

const FORWARDED = sessionEndingSignals()

export async function runWithCredential(cli: CliContext, grant: Grant, argv: string[], options: RunOptions): Promise<RunResult> {
  const result: RunResult = { sessionId: grant.session.id, exitCode: 1, cached: false, revoked: false, revocationPending: false }
  const guard = guardProcess()
  let heartbeat: HeartbeatLoop | undefined
  let prepared: PreparedCommand | undefined
  let cacheTouched = false
  let started = false
  const owns = options.ownsSession !== false
  try {
    if (argv.length === 0) throw new UsageError('No command to run.', ['Put it after --, e.g. jit exec ... -- ssh plc-07'])
    const onEnded = (r: HeartbeatResult) => {
      if (options.stopWhenSessionEnds) guard.stopChild('SIGTERM')
      options.onEndedElsewhere?.(r)
    }
    if (owns) heartbeat = await startHeartbeat(await cli.client(), grant.session.id, { onEnded })
    if (options.cache && grant.session.cacheAllowed) {
      cacheTouched = true
      await cli.cache().put(grant)
      result.cached = true
    }
    if (guard.firstSignal) {
      // Interrupted before the command started: it never runs, and the session ends now.
      Object.assign(result, { exitCode: exitCodeFor(guard.firstSignal), signal: guard.firstSignal })
      return result
    }
    if (options.prepare) {
      prepared = await options.prepare(grant)
      if (guard.firstSignal) {
        Object.assign(result, { exitCode: exitCodeFor(guard.firstSignal), signal: guard.firstSignal })
        return result
      }
    }
    const onSpawn = () => {
      started = true
      options.onStarted?.()
    }
    Object.assign(result, await runChild(prepared?.argv ?? argv, { ...(prepared?.env ?? { ...process.env, ...(options.credentialInEnv === false ? {} : credentialEnv(grant)) }), ...options.env }, guard, onSpawn))
    return result
  } finally {
    heartbeat?.stop()
    const reason = result.signal && !started ? `interrupted before the command started (${result.signal})`
      : started ? `command ended (${result.signal ?? `exit ${result.exitCode}`})` : 'the command could not be started'
    try {
      try {
        await prepared?.dispose()
      } finally {
        if (owns) await endSession(cli, grant.session.id, reason, result, { cache: cacheTouched })
      }
    } finally {
      guard.dispose()
    }
    // Something inside jit failed while the command ran; the session is revoked by now, so say so.
    if (guard.fatal) throw new JitError(`Unexpected error inside jit while the command ran: ${guard.fatal.message}. ${owns ? `The session was ${result.revoked ? 'revoked' : 'queued for revocation'}.` : 'The session was left as it was (this run did not open it).'}`)
  }
}

/** Ends the session from this device (src/cli/sessions/revoke.ts) and notes how it went in `result`. */
export async function endSession(cli: CliContext, sessionId: string, reason: string, result: Pick<RunResult, 'revoked' | 'revocationPending' | 'cacheLeftBehind'>, options: { cache?: boolean } = {}): Promise<void> {
  const revocation = await revokeFromDevice(cli, sessionId, reason, options)
  result.revoked = revocation.outcome === 'revoked'
  result.revocationPending = revocation.outcome === 'queued'
  // The command's own exit code stays the answer: a keychain that locked or went away while it
  // ran is reported beside it, not instead of it.
  if (revocation.cacheLeftBehind) result.cacheLeftBehind = revocation.cacheLeftBehind.message
}

/** The shell for `jit shell`: the user's own, else /bin/sh. */
export function userShell(): string[] {
  return [process.env.SHELL || '/bin/sh']
}

interface ProcessGuard {
  readonly firstSignal?: NodeJS.Signals
  readonly fatal?: Error
  attach(child: ChildProcess): void
  /** Sends the running command a signal of jit's own (not a forwarded one). */
  stopChild(signal: NodeJS.Signals): void
  dispose(): void
}

/**
 * Holds jit up until the session is revoked: catches the forwarded signals (so their default
 * action, death, never skips revocation), output errors on a terminal that went away (EIO, EPIPE),
 * and any uncaught error, which is remembered and reported after revocation.
 */
function guardProcess(): ProcessGuard {
  let child: ChildProcess | undefined
  let firstSignal: NodeJS.Signals | undefined
  let fatal: Error | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    firstSignal ??= signal
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    // At a terminal, Ctrl-C (and Ctrl-Break on Windows) already reaches the command (same
    // foreground process group, same console); forwarding it again would hit the command twice.
    // Anything else aimed at jit is forwarded.
    if (fromKeyboard(signal) && process.stdin.isTTY) return
    child.kill(signal)
  }
  const listeners = FORWARDED.map((signal) => [signal, () => onSignal(signal)] as const)
  const onOutputError = () => {}
  const onFatal = (error: unknown) => {
    fatal ??= error instanceof Error ? error : new Error(String(error))
  }
  for (const [signal, listener] of listeners) process.on(signal, listener)
  process.stdout.on('error', onOutputError)
  process.stderr.on('error', onOutputError)
  process.on('uncaughtException', onFatal)
  process.on('unhandledRejection', onFatal)
  return {
    get firstSignal() {
      return firstSignal
    },
    get fatal() {
      return fatal
    },
    attach(c) {
      child = c
    },
    stopChild(signal) {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    dispose() {
      for (const [signal, listener] of listeners) process.removeListener(signal, listener)
      process.removeListener('uncaughtException', onFatal)
      process.removeListener('unhandledRejection', onFatal)
      // Output errors stay swallowed: after a hang-up there is nobody to tell, and a late EIO must not crash jit.
    },
  }
}

function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0)
}

function runChild(argv: string[], env: NodeJS.ProcessEnv, guard: ProcessGuard, onStarted?: () => void): Promise<{ exitCode: number; signal?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env })
    guard.attach(child)
    child.once('spawn', () => {
      try {
        onStarted?.()
      } catch {
        // A status line that cannot be written is no reason to stop the command.
      }
    })
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new UsageError(`Cannot run ${argv[0]}: ${error.code === 'ENOENT' ? 'command not found' : error.message}.`))
    })
    child.once('exit', (code, signal) => {
      if (signal) resolve({ exitCode: exitCodeFor(signal), signal })
      else resolve({ exitCode: code ?? 1 })
    })
  })
}
