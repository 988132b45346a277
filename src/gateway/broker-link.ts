// The gateway's line to the broker: every call carries the gateway's verifier token, has a
// timeout, trusts the operator's CA file when one is given, and fails with a GatewayBrokerError
// that never contains the token.
import { readFileSync } from 'node:fs'
import { API_PREFIX } from '../wire/api.js'

export class GatewayBrokerError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message)
  }
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>

export class BrokerLink {
  readonly #token: string
  #fetch?: Promise<Fetch>
  constructor(readonly brokerUrl: string, token: string, readonly caFile?: string) {
    this.#token = token
  }

  /** Node's fetch, or undici's with an agent that trusts the CA file (Node's own cannot be given one). */
  #fetcher(): Promise<Fetch> {
    this.#fetch ??= (async () => {
      if (!this.caFile) return fetch as Fetch
      const ca = readFileSync(this.caFile)
      const loaded = await import('undici')
      // undici is CommonJS: bundled, its exports sit on the default export.
      const undici = (loaded as unknown as { default?: typeof loaded }).default ?? loaded
      const dispatcher = new undici.Agent({ connect: { ca } })
      return ((url: string, init: RequestInit) => undici.fetch(url, { ...(init as object), dispatcher } as never)) as unknown as Fetch
    })()
    return this.#fetch
  }

  get<T>(path: string, timeoutMs = 10_000, signal?: AbortSignal): Promise<T> {
    return this.#call<T>('GET', path, undefined, timeoutMs, signal)
  }

  post<T>(path: string, body: unknown, timeoutMs = 10_000): Promise<T> {
    return this.#call<T>('POST', path, body, timeoutMs)
  }

  async #call<T>(method: string, path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    const url = path.startsWith('/.well-known') || path === '/healthz' ? `${this.brokerUrl}${path}` : `${this.brokerUrl}${API_PREFIX}${path}`
    let response: Response
    try {
      response = await (await this.#fetcher())(url, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      throw new GatewayBrokerError(`broker ${this.brokerUrl} unreachable: ${(error as Error).name === 'TimeoutError' ? 'timed out' : ((error as { cause?: Error }).cause?.message ?? (error as Error).message)}`)
    }
    const text = await response.text()
    if (!response.ok) {
      let detail = text.slice(0, 300)
      try {
        detail = (JSON.parse(text) as { detail?: string }).detail ?? detail
      } catch {
        // not a problem document; keep the start of the body
      }
      throw new GatewayBrokerError(`broker answered ${response.status} to ${method} ${path.split('?')[0]}: ${detail}`, response.status)
    }
    return JSON.parse(text) as T
  }
}
