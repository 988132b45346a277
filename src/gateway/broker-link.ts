// The gateway's line to the broker: every call carries the gateway's verifier token, has a
// timeout, and fails with a GatewayBrokerError that never contains the token.
import { API_PREFIX } from '../wire/api.js'

export class GatewayBrokerError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message)
  }
}

export class BrokerLink {
  readonly #token: string
  constructor(readonly brokerUrl: string, token: string) {
    this.#token = token
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
      response = await fetch(url, {
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
