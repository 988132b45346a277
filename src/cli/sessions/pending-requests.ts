// Requests this device left pending (`jit request --no-wait`), by id only (no secrets), so the
// next jit command can tell the requester once one is decided, without a broker call on every
// start: while none is pending, checking costs one stat.
import { ListFile } from '../config/state-file.js'
import type { CliContext } from '../context.js'
import type { AccessRequest, RequestResult } from '../../wire/api.js'

interface Pending {
  profile: string
  requestId: string
}

const list = new ListFile<Pending>('requests-pending.json')

export function rememberPending(profile: string, requestId: string): void {
  list.write([...list.read().filter((p) => p.requestId !== requestId), { profile, requestId }])
}

export function forgetPending(requestId: string): void {
  if (list.exists()) list.write(list.read().filter((p) => p.requestId !== requestId))
}

export function anyPending(): boolean {
  return list.exists()
}

/** Cheap: true only when this device left requests of this profile pending. */
export function mayHaveDecided(profile: string): boolean {
  return list.exists() && list.read().some((p) => p.profile === profile)
}

/**
 * Asks the broker about this profile's pending requests; returns those decided since, and
 * forgets them (each decision is told once; `jit requests` shows it any time after).
 */
export async function decidedRequests(cli: CliContext): Promise<AccessRequest[]> {
  let client
  try {
    client = await cli.client()
  } catch (error) {
    // This profile's device is gone (logged out, deregistered): its requests are not ours to tell.
    if ((error as { exitCode?: number }).exitCode === 9) list.write(list.read().filter((p) => p.profile !== cli.options.profile))
    throw error
  }
  const mine = list.read().filter((p) => p.profile === cli.options.profile)
  const decided: AccessRequest[] = []
  const gone = new Set<string>()
  await Promise.all(
    mine.map(async ({ requestId }) => {
      try {
        const { request } = await client.get<RequestResult>(`/requests/${encodeURIComponent(requestId)}`)
        if (request.state !== 'pending') decided.push(request)
      } catch (error) {
        // A request this broker does not know (another broker, a reset data folder) is dropped;
        // anything else (unreachable) is asked again next time.
        if ((error as { exitCode?: number }).exitCode === 2) gone.add(requestId)
      }
    }),
  )
  for (const request of decided) gone.add(request.id)
  if (gone.size > 0) list.write(list.read().filter((p) => !gone.has(p.requestId)))
  return decided
}

/** One line for the requester about a decision, with what to do next. */
export function decisionNotice(request: AccessRequest): string {
  const what = `Request ${request.id} (${request.scope} on ${request.asset}, ticket ${request.ticket})`
  const by = request.decidedBy ? ` by ${request.decidedBy}` : ''
  const why = request.decisionComment ? `: ${request.decisionComment}` : ''
  if (request.state === 'approved') return `${what} was approved${by}${why}. Collect its credential: jit sessions pickup ${request.id}`
  return `${what} was ${request.state}${by}${why}.`
}
