// One GET against a ticket system, with the failures a remote system has: a timeout, refused
// credentials, rate limiting (429, honouring a short Retry-After once), server errors, and
// answers that are not JSON. Every failure becomes a TicketSystemUnreachable in plain words.
import { send } from '../../util/outbound-http.js'
import { TicketSystemUnreachable } from './connector.js'

export interface JsonAnswer {
  status: number
  body: unknown
  headers: Record<string, string | string[] | undefined>
}

/** Retry-After longer than this is not waited for: the caller (a technician) is waiting. */
const MAX_RETRY_AFTER_MS = 2000

export async function getJson(url: string, options: { authorization?: string; timeoutMs: number; accept404?: boolean }): Promise<JsonAnswer> {
  const deadline = Date.now() + options.timeoutMs
  for (let attempt = 0; ; attempt++) {
    const answer = await once(url, options.authorization, Math.max(1, deadline - Date.now()))
    if (answer.status === 429) {
      const waitMs = retryAfterMs(answer.headers['retry-after'])
      if (attempt === 0 && waitMs !== undefined && waitMs <= MAX_RETRY_AFTER_MS && Date.now() + waitMs < deadline) {
        await new Promise((resolve) => setTimeout(resolve, waitMs))
        continue
      }
      throw new TicketSystemUnreachable(`it is rate-limiting jit (HTTP 429${waitMs !== undefined ? `, retry after ${Math.ceil(waitMs / 1000)}s` : ''})`)
    }
    if (answer.status === 404 && options.accept404) return answer
    if (answer.status === 401 || answer.status === 403) throw new TicketSystemUnreachable(`it refused jit's credentials (HTTP ${answer.status})`)
    if (answer.status >= 500) throw new TicketSystemUnreachable(`it failed (HTTP ${answer.status})`)
    if (answer.status !== 200) throw new TicketSystemUnreachable(`it answered HTTP ${answer.status}`)
    if (answer.body === undefined) throw new TicketSystemUnreachable('it answered with something that is not JSON')
    return answer
  }
}

async function once(url: string, authorization: string | undefined, timeoutMs: number): Promise<JsonAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (authorization) headers.authorization = authorization
  try {
    const answer = await send(url, { method: 'GET', headers, timeoutMs })
    let body: unknown
    try {
      body = answer.text.length > 0 ? JSON.parse(answer.text) : undefined
    } catch {
      body = undefined
    }
    return { status: answer.status, body, headers: answer.headers }
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
      throw new TicketSystemUnreachable(`it did not answer within ${(timeoutMs / 1000).toFixed(timeoutMs < 1000 ? 1 : 0)}s`)
    }
    throw new TicketSystemUnreachable(`it could not be reached (${e.code ?? e.message})`)
  }
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/** The value at a dot path (a.b.0.c) of a JSON document. */
export function atPath(document: unknown, path: string): unknown {
  let value: unknown = document
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

/** Strings in a field that may be a string, an option ({ value } / { name }), or a list of them. */
export function stringsOf(value: unknown): string[] {
  if (value === null || value === undefined) return []
  if (typeof value === 'string') return value.trim() ? [value.trim()] : []
  if (typeof value === 'number') return [String(value)]
  if (Array.isArray(value)) return value.flatMap(stringsOf)
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>
    return stringsOf(o.value ?? o.name ?? o.displayName)
  }
  return []
}
