// Asking for access: submit the request, then long-poll the broker until it is decided. Ctrl-C
// while waiting cancels the request at the broker.
import type { CliContext } from '../context.js'
import { NotApprovedError, PendingError, UsageError } from '../../errors.js'
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS } from '../../wire/limits.js'
import { formatDuration, parseDuration } from '../../util/ttl.js'
import type { CreateRequestBody, CredentialDelivery, Grant, RequestResult } from '../../wire/api.js'
import { rememberPending } from './pending-requests.js'

export interface AccessParams {
  ticket: string
  asset: string
  scope: string
  ttl: string
  reason: string
  /** 'memory' from the wrappers (exec, shell, connect) that hold the credential for one command. */
  delivery?: CredentialDelivery
  /** A workload job's declared intent (jit run). */
  intent?: string
}

export interface WaitHooks {
  onPending?(result: RequestResult): void
  onDone?(): void
  /** How long to wait for an approver before giving up (exit 4). */
  timeoutSeconds?: number
}

/** The next step for a request left pending, in every message that leaves one. */
export const pickupHint = (requestId: string) => `Collect the credential once it is approved: jit sessions pickup ${requestId}   (jit requests shows its state)`

const POLL_SECONDS = 25

export function requestBody(params: AccessParams): CreateRequestBody {
  const ttlSeconds = parseDuration(params.ttl)
  if (ttlSeconds < MIN_TTL_SECONDS || ttlSeconds > MAX_TTL_SECONDS) {
    throw new UsageError(`TTL ${params.ttl} is out of range: ask for between ${formatDuration(MIN_TTL_SECONDS)} and ${formatDuration(MAX_TTL_SECONDS)}.`)
  }
  return { ticket: params.ticket, asset: params.asset, scope: params.scope, ttlSeconds, reason: params.reason, ...(params.delivery ? { delivery: params.delivery } : {}), ...(params.intent ? { intent: params.intent } : {}) }
}

export async function submitRequest(cli: CliContext, params: AccessParams): Promise<RequestResult> {
  const body = requestBody(params)
  return (await cli.client()).post<RequestResult>('/requests', body)
}

/** Submits and, unless noWait, waits for the decision. Resolves only with a grant. */
export async function requestAccess(cli: CliContext, params: AccessParams, options: { noWait?: boolean } & WaitHooks = {}): Promise<RequestResult> {
  const submitted = await submitRequest(cli, params)
  if (submitted.grant) return submitted
  if (options.noWait) {
    rememberPending(cli.options.profile, submitted.request.id)
    throw new PendingError(`Request ${submitted.request.id} is waiting for approval.`, [pickupHint(submitted.request.id)], {
      requestId: submitted.request.id,
      request: submitted.request,
    })
  }
  options.onPending?.(submitted)
  try {
    return await waitForDecision(cli, submitted.request.id, options.timeoutSeconds ?? 3600)
  } finally {
    options.onDone?.()
  }
}

/**
 * A request's outcome as the requester sees it: the result with its grant once approved and
 * open, undefined while pending, else a NotApprovedError (exit 4) that says why.
 */
export function settled(result: RequestResult): RequestResult | undefined {
  const { request } = result
  if (request.state === 'pending') return undefined
  if (request.state === 'approved' && result.grant) return result
  if (request.state === 'approved') {
    throw new NotApprovedError(`Request ${request.id} was approved but its session has already ended${request.sessionId ? ` (${request.sessionId})` : ''}.`, ['Ask again: jit request ...'], { requestId: request.id, request })
  }
  const by = request.decidedBy ? ` by ${request.decidedBy}` : ''
  const why = request.decisionComment ? `: ${request.decisionComment}` : ''
  throw new NotApprovedError(`Request ${request.id} was ${request.state}${by}${why}.`, [], { requestId: request.id, request })
}

/**
 * Long-polls until the request is decided. Giving up (Ctrl-C, the timeout) cancels the request,
 * unless `keepOnGiveUp`: then it stays pending for a later pickup (exit 8).
 */
export async function waitForDecision(cli: CliContext, requestId: string, timeoutSeconds: number, options: { keepOnGiveUp?: boolean } = {}): Promise<RequestResult> {
  const client = await cli.client()
  const interrupted = new AbortController()
  const onSignal = () => interrupted.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const deadline = Date.now() + timeoutSeconds * 1000
  try {
    for (;;) {
      const wait = Math.max(1, Math.min(POLL_SECONDS, Math.ceil((deadline - Date.now()) / 1000)))
      let result: RequestResult
      try {
        result = await client.get<RequestResult>(`/requests/${encodeURIComponent(requestId)}?wait=${wait}`, interrupted.signal)
      } catch (error) {
        if (!interrupted.signal.aborted) throw error
        if (options.keepOnGiveUp) throw new PendingError(`Stopped waiting; request ${requestId} is still waiting for approval.`, [pickupHint(requestId)], { requestId })
        await client.post(`/requests/${encodeURIComponent(requestId)}/cancel`)
        throw new NotApprovedError(`Cancelled request ${requestId} while waiting for approval.`, [], { requestId })
      }
      const outcome = settled(result)
      if (outcome) return outcome
      if (Date.now() >= deadline) {
        if (options.keepOnGiveUp) throw new PendingError(`No approval for ${requestId} within ${formatDuration(timeoutSeconds)}; it is still pending.`, [pickupHint(requestId)], { requestId })
        await client.post(`/requests/${encodeURIComponent(requestId)}/cancel`)
        throw new NotApprovedError(`No approval for ${requestId} within ${formatDuration(timeoutSeconds)}; the request was cancelled.`, [], { requestId })
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
}

/**
 * For the wrappers (exec, shell, connect, ssh): a session whose credential lives in this process
 * for one command, so a rule that forbids caching still grants it. Waits for approval with a
 * spinner on stderr; Ctrl-C cancels the request.
 */
export async function requestHeldInMemory(cli: CliContext, params: AccessParams, timeout: string): Promise<Grant> {
  const { spinner } = await import('../output.js')
  let wait: ReturnType<typeof spinner> | undefined
  const { grant } = await requestAccess(cli, { ...params, delivery: 'memory' }, {
    timeoutSeconds: parseDuration(timeout, 'timeout'),
    onPending: ({ request }) => {
      wait = spinner(`Waiting for approval of ${request.id}; Ctrl-C cancels`)
    },
    onDone: () => wait?.stop(),
  })
  return grant!
}
