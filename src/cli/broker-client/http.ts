// The HTTP client the broker client uses: Node's own http/https with a keep-alive agent. It
// replaced undici here for start-up time: undici loads http2 and tls even for a plain-HTTP broker
// and compiles its WebAssembly HTTP parser on every run (tens of ms of a CLI command that makes
// one or two calls; docs/PERFORMANCE.md). Loaded on first use (see loadHttpClient), and https
// (which brings in tls) only for an https broker.
import type { Agent as HttpAgent, IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { createRequire } from 'node:module'

// require(), not import: an ESM import of a built-in runs every lazy getter it has (see scripts/bundle.mjs).
const requireBuiltin = createRequire(import.meta.url)
// Now rather than on the first call: this module is loaded while the keychain reads the device
// key (CliContext.client), and https needs http too.
const http = requireBuiltin('node:http') as typeof import('node:http')

export interface HttpResponse {
  statusCode: number
  text: string
}

export interface HttpRequest {
  method: string
  headers: OutgoingHttpHeaders
  body?: string
  signal?: AbortSignal
}

/** No byte from the broker for this long (waiting for the answer, or within it): the call fails. */
const IDLE_TIMEOUT_MS = 60_000
/** An idle kept-alive connection is closed after this long. */
const KEEP_ALIVE_MS = 10_000

export class HttpClient {
  readonly #agent: HttpAgent
  readonly #request: typeof import('node:http').request
  readonly #inFlight = new Set<Promise<unknown>>()

  constructor(url: URL, ca?: Buffer) {
    if (url.protocol === 'https:') {
      const https = requireBuiltin('node:https') as typeof import('node:https')
      this.#agent = new https.Agent({ keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS, timeout: KEEP_ALIVE_MS, ...(ca ? { ca } : {}) })
      this.#request = https.request as typeof import('node:http').request
    } else {
      this.#agent = new http.Agent({ keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS, timeout: KEEP_ALIVE_MS })
      this.#request = http.request
    }
  }

  request(url: URL, options: HttpRequest): Promise<HttpResponse> {
    const call = this.#send(url, options)
    const settled = call.then(() => {}, () => {})
    this.#inFlight.add(settled)
    void settled.then(() => this.#inFlight.delete(settled))
    return call
  }

  #send(url: URL, options: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers = { ...options.headers, ...(options.body !== undefined ? { 'content-length': Buffer.byteLength(options.body) } : {}) }
      const req = this.#request(url, { method: options.method, headers, agent: this.#agent, signal: options.signal }, (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.once('end', () => resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
        res.once('error', reject)
        res.once('aborted', () => reject(Object.assign(new Error('the broker closed the connection in the middle of its answer'), { code: 'ECONNRESET' })))
      })
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer within ${IDLE_TIMEOUT_MS / 1000}s`), { code: 'ETIMEDOUT' })))
      req.once('error', reject)
      req.end(options.body)
    })
  }

  /** Lets the calls in flight finish, then closes the kept-alive connections. */
  async close(): Promise<void> {
    await Promise.all(this.#inFlight)
    this.#agent.destroy()
  }
}
