// Asking for access: submit the request, then long-poll the broker until it is decided. Ctrl-C
// while waiting cancels the request at the broker.
import type { CliContext } from '../context.js'
import { NotApprovedError, PendingError, UsageError } from '../../errors.js'
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS } from '../../wire/limits.js'
import { formatDuration, parseDuration } from '../../util/ttl.js'
import type { CreateRequestBody, RequestResult } from '../../wire/api.js'

export interface AccessParams {
  ticket: string
  asset: string
  scope: string
  ttl: string
  reason: string
}

export interface WaitHooks {
  onPending?(result: RequestResult): void
  onDone?(): void
  /** How long to wait for an approver before giving up (exit 4). */
  timeoutSeconds?: number
}

const POLL_SECONDS = 25

export function requestBody(params: AccessParams): CreateRequestBody {
  const ttlSeconds = parseDuration(params.ttl)
  if (ttlSeconds < MIN_TTL_SECONDS || ttlSeconds > MAX_TTL_SECONDS) {
    throw new UsageError(`TTL ${params.ttl} is out of range: ask for between ${formatDuration(MIN_TTL_SECONDS)} and ${formatDuration(MAX_TTL_SECONDS)}.`)
  }
  return { ticket: params.ticket, asset: params.asset, scope: params.scope, ttlSeconds, reason: params.reason }
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
    throw new PendingError(`Request ${submitted.request.id} is waiting for approval.`, [`Follow it with: jit requests, or wait for it: jit request --ticket ... again`], {
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

export async function waitForDecision(cli: CliContext, requestId: string, timeoutSeconds: number): Promise<RequestResult> {
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
        await client.post(`/requests/${encodeURIComponent(requestId)}/cancel`)
        throw new NotApprovedError(`Cancelled request ${requestId} while waiting for approval.`, [], { requestId })
      }
      const { request } = result
      if (request.state === 'approved' && result.grant) return result
      if (request.state === 'approved') throw new NotApprovedError(`Request ${requestId} was approved but its session has already ended.`, [], { requestId })
      if (request.state !== 'pending') {
        const by = request.decidedBy ? ` by ${request.decidedBy}` : ''
        const why = request.decisionComment ? `: ${request.decisionComment}` : ''
        throw new NotApprovedError(`Request ${requestId} was ${request.state}${by}${why}.`, [], { requestId, request })
      }
      if (Date.now() >= deadline) {
        await client.post(`/requests/${encodeURIComponent(requestId)}/cancel`)
        throw new NotApprovedError(`No approval for ${requestId} within ${formatDuration(timeoutSeconds)}; the request was cancelled.`, [], { requestId })
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
}
