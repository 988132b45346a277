// The one HTTP client of the broker and the gateway for calls they make out: the broker's
// webhooks and ticket-system lookups, the gateway's line to the broker. Every call has a deadline
// (the whole call, and no wait for headers or body beyond it), and trusts an operator's CA file
// when one is given. Failures are the transport's own errors (a TimeoutError past the deadline,
// AbortError when the caller's signal fired, ECONNREFUSED and the like on `code`): each caller
// words them for its own readers. The device's CLI has its own, lighter one
// (src/cli/broker-client/http.ts), for start-up time.
import { Agent, request } from 'undici'

export interface OutboundRequest {
  method: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** The whole call, connection to last byte. */
  timeoutMs: number
  /** The caller's own reason to stop (a long poll given up). */
  signal?: AbortSignal
  /** A CA to trust instead of the system's (PEM). */
  ca?: Buffer
}

export interface OutboundAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The body as sent (a KRL is binary). */
  bytes: Buffer
  /** The body read as UTF-8. */
  text: string
}

/** One agent per CA given, kept: a connection pool for each, not one per call. */
const agents = new Map<string, Agent>()

function agentFor(ca: Buffer): Agent {
  const key = ca.toString('base64')
  let agent = agents.get(key)
  if (!agent) {
    agent = new Agent({ connect: { ca } })
    agents.set(key, agent)
  }
  return agent
}

export async function send(url: string, call: OutboundRequest): Promise<OutboundAnswer> {
  const deadline = AbortSignal.timeout(call.timeoutMs)
  const response = await request(url, {
    method: call.method,
    headers: call.headers,
    body: call.body,
    signal: call.signal ? AbortSignal.any([call.signal, deadline]) : deadline,
    headersTimeout: call.timeoutMs,
    bodyTimeout: call.timeoutMs,
    ...(call.ca ? { dispatcher: agentFor(call.ca) } : {}),
  })
  const bytes = Buffer.from(await response.body.arrayBuffer())
  return { status: response.statusCode, headers: response.headers, bytes, text: bytes.toString('utf8') }
}
