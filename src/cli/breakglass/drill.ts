// A break-glass drill: the real emergency path, tagged as a drill, with no prompts. Each step
// is timed; the drill passes only when every step does. Whatever fails, a session that was
// opened is revoked before the report is made.
import type { CliContext } from '../context.js'
import { BrokerUnreachableError, JitError } from '../../errors.js'
import { revokeFromDevice } from '../sessions/revoke.js'
import { nowMs } from '../../util/clock.js'
import type { BreakGlassResult, ReviewAnswers, SessionProof } from '../../wire/api.js'
import { fileReview } from './due-review-prompt.js'
import { readReviewFile } from './review-form.js'

export interface DrillStep {
  name: string
  ok: boolean
  skipped?: boolean
  ms: number
  detail: string
}

export interface DrillReport {
  asset: string
  sessionId?: string
  reviewId?: string
  steps: DrillStep[]
  passed: boolean
  /** From the start of the drill to a usable credential. */
  timeToAccessMs?: number
  totalMs: number
  exitCode: number
}

export interface DrillOptions {
  asset: string
  reason: string
  reviewFile: string
  scope?: string
  /** A command to run with the credential, e.g. a connectivity probe; must exit 0. */
  probe?: string[]
}

export async function runDrill(cli: CliContext, options: DrillOptions): Promise<DrillReport> {
  const started = nowMs()
  const steps: DrillStep[] = []
  let firstFailure: { exitCode: number } | undefined
  let opened: BreakGlassResult | undefined
  let answers: ReviewAnswers | undefined
  let timeToAccessMs: number | undefined

  /** Runs a step unless an earlier one failed; `always` steps clean up and run regardless, when they can. */
  const step = async (name: string, fn: () => Promise<string>, when: { always?: boolean; needs?: () => boolean } = {}): Promise<void> => {
    const runnable = when.needs?.() ?? true
    if ((firstFailure && !when.always) || !runnable) {
      steps.push({ name, ok: false, skipped: true, ms: 0, detail: 'skipped: an earlier step failed' })
      return
    }
    const t0 = nowMs()
    try {
      const detail = await fn()
      steps.push({ name, ok: true, ms: nowMs() - t0, detail })
    } catch (error) {
      firstFailure ??= { exitCode: error instanceof JitError ? error.exitCode : 1 }
      steps.push({ name, ok: false, ms: nowMs() - t0, detail: (error as Error).message })
    }
  }

  const client = await cli.client()
  // The session's live check: the broker checks the credential as introspection does for
  // verifiers (a device may not introspect, and its own check is not a use by an asset).
  const introspect = async () => ({ ...(await client.get<SessionProof>(`/sessions/${encodeURIComponent(opened!.grant.session.id)}/proof`)).liveCheck, kind: opened!.grant.session.kind })
  const isOpen = () => opened !== undefined

  await step('read review file', async () => {
    answers = readReviewFile(options.reviewFile)
    return `${options.reviewFile} has every answer`
  })
  await step('open break-glass (drill)', async () => {
    opened = await client.post<BreakGlassResult>('/break-glass', { asset: options.asset, reason: options.reason, scope: options.scope, drill: true })
    timeToAccessMs = nowMs() - started
    return `session ${opened.grant.session.id}, ${opened.grant.session.scope} until ${opened.grant.session.expiresAt}`
  })
  await step('credential is active (introspection)', async () => {
    const answer = await introspect()
    if (!answer.active) throw new Error('introspection says the fresh credential is not active')
    return `active, kind ${String(answer.kind)}`
  })
  if (options.probe) {
    await step(`probe: ${options.probe.join(' ')}`, async () => {
      const code = await runProbe(options.probe!, opened!)
      if (code !== 0) throw new Error(`probe exited ${code}`)
      return 'exited 0'
    })
  }
  // A drill never leaves access behind, nor its user blocked by an unfiled review.
  await step('revoke', async () => {
    // A drill never caches its credential; a broker that does not answer leaves the revocation in the journal.
    const revocation = await revokeFromDevice(cli, opened!.grant.session.id, 'drill complete', { cache: false })
    if (revocation.outcome === 'queued') throw new BrokerUnreachableError(`The broker did not answer the revoke: it is queued in the revocation journal (retry with: jit revoke --pending).`)
    return 'revoked'
  }, { always: true, needs: isOpen })
  await step('credential is dead (introspection)', async () => {
    const answer = await introspect()
    if (answer.active) throw new Error('introspection still says active after revoke')
    return 'inactive'
  }, { always: true, needs: isOpen })
  await step('file review', async () => {
    const review = await fileReview(cli, opened!.review.id, answers!)
    return `review ${review.id} filed`
  }, { always: true, needs: () => isOpen() && answers !== undefined })

  const passed = steps.every((s) => s.ok)
  return {
    asset: options.asset,
    sessionId: opened?.grant.session.id,
    reviewId: opened?.review.id,
    steps,
    passed,
    timeToAccessMs,
    totalMs: nowMs() - started,
    exitCode: passed ? 0 : (firstFailure?.exitCode ?? 1),
  }
}

async function runProbe(argv: string[], opened: BreakGlassResult): Promise<number> {
  const { spawn } = await import('node:child_process')
  const { credentialEnv } = await import('../sessions/local-sessions.js')
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...credentialEnv(opened.grant) } })
    child.once('error', () => resolve(127))
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  })
}
