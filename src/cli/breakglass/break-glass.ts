// `jit break-glass` on the CLI side: open, warn loudly, run the command (revoke on exit like
// jit exec), then ask for the review at once, from a file or at the terminal.
import { basename } from 'node:path'
import type { CliContext } from '../context.js'
import type { ui as UI } from '../output.js'
import { cacheLeftBehindWarning, runWithCredential, type RunResult } from '../sessions/run-with-credential.js'
import { formatDuration, parseDuration } from '../../util/ttl.js'
import type { BreakGlassResult, NotificationOutcome, Review } from '../../wire/api.js'
import { notificationSummary } from './notifications.js'
import { ReviewBlockedError } from '../../errors.js'
import { readReviewFile, promptReview } from './review-form.js'
import { dueReviews, fileReview, rememberReview } from './due-review-prompt.js'

export interface BreakGlassOptions {
  asset: string
  reason: string
  incident?: string
  scope?: string
  ttl?: string
  cache: boolean
  command: string[]
  reviewFile?: string
  canPrompt: boolean
  say?: typeof UI
}

export interface BreakGlassOutcome {
  session: BreakGlassResult['grant']['session']
  notifications: NotificationOutcome[]
  review: Review
  cappedFrom?: number
  cached: boolean
  run?: RunResult
  /** The command's exit code, when a command ran. */
  exitCode?: number
}

export async function breakGlass(cli: CliContext, options: BreakGlassOptions): Promise<BreakGlassOutcome> {
  // Check the review file before opening anything: a typo must not cost an emergency session.
  const answers = options.reviewFile ? readReviewFile(options.reviewFile) : undefined
  const ttlSeconds = options.ttl ? parseDuration(options.ttl) : undefined
  const client = await cli.client()
  const opened = await client.post<BreakGlassResult>('/break-glass', { asset: options.asset, reason: options.reason, incident: options.incident, scope: options.scope, ttlSeconds })
  rememberReview(cli.options.profile, opened.review.id)
  const { session } = opened.grant
  const say = options.say
  say?.warn(`BREAK-GLASS: ${session.scope} on ${session.asset} until ${session.expiresAt}. This is logged at high severity.`)
  const { told, missed } = notificationSummary(opened.notifications)
  for (const line of told) say?.info(line)
  for (const line of missed) say?.warn(line)
  if (opened.cappedFrom) say?.warn(`Asked for ${formatDuration(opened.cappedFrom)}; break-glass is capped at ${formatDuration(opened.request.ttlSeconds)}.`)
  say?.warn(`A post-event review (${opened.review.id}) is mandatory when the session ends; no new session until it is filed.`)
  const outcome: BreakGlassOutcome = { session, notifications: opened.notifications ?? [], review: opened.review, cappedFrom: opened.cappedFrom, cached: false }

  if (options.command.length === 0) {
    if (options.cache && session.cacheAllowed) {
      await cli.cache().put(opened.grant)
      outcome.cached = true
    }
    say?.info(`Use it: jit credential ${session.id} --format env   ·   End it: jit revoke ${session.id}, then jit review ${opened.review.id}`)
    return outcome
  }

  outcome.run = await runWithCredential(cli, opened.grant, options.command, { cache: options.cache })
  outcome.exitCode = outcome.run.exitCode
  if (outcome.run.cacheLeftBehind) (say ?? (await import('../output.js')).ui).warn(cacheLeftBehindWarning(outcome.run))
  say?.ok(`Break-glass session ${session.id} revoked; ${basename(options.command[0])} ${outcome.run.signal ? `died of ${outcome.run.signal}` : `exited ${outcome.run.exitCode}`}.`)
  if (outcome.run.revocationPending) {
    say?.warn('The broker could not be reached to revoke; the revocation is queued. File the review once it is confirmed: jit review')
    return outcome
  }
  if (answers) {
    outcome.review = await fileReview(cli, opened.review.id, answers)
    say?.ok(`Review ${outcome.review.id} filed from ${options.reviewFile}.`)
  } else if (options.canPrompt) {
    const answered = await promptReview(opened.review).catch((error: Error) => {
      // Not answered now: the command's own result still goes with the refusal.
      if (error instanceof ReviewBlockedError) Object.assign(error.details, { sessionId: session.id, commandExitCode: outcome.exitCode })
      throw error
    })
    outcome.review = await fileReview(cli, opened.review.id, answered)
    say?.ok(`Review ${outcome.review.id} filed. Thank you.`)
  } else {
    outcome.review = (await dueReviews(cli)).find((r) => r.id === opened.review.id) ?? outcome.review
    say?.warn(`File the review now: jit review ${opened.review.id} --file review.yaml`)
  }
  return outcome
}
