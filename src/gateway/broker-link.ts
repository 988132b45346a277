// The gateway's line to the broker: every call carries the gateway's verifier token, has a
// timeout, trusts the operator's CA file when one is given, and fails with a GatewayBrokerError
// that never contains the token. Given several brokers of one plant (comma-separated), a call
// that cannot reach one goes to the next, under the same rule as the CLI's (broker-failover.ts):
// the revocation stream's long poll moves on at once, a POST that may have arrived is not resent.
import { readFileSync } from 'node:fs'
import { mayTryNextBroker } from '../util/broker-failover.js'
import { send, type OutboundAnswer } from '../util/outbound-http.js'
import { API_PREFIX } from '../wire/api.js'

export class GatewayBrokerError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message)
  }
}

export class BrokerLink {
  readonly #token: string
  /** The operator's CA file, read at the first call. */
  #ca?: Buffer
  readonly brokerUrls: string[]
  /** The broker asked first: the last one that answered. */
  #current = 0
  constructor(brokerUrls: string, token: string, readonly caFile?: string) {
    this.#token = token
    this.brokerUrls = brokerUrls.split(',').map((url) => url.trim().replace(/\/+$/, '')).filter((url) => url.length > 0)
  }

  /** The broker calls go to now. */
  get brokerUrl(): string {
    return this.brokerUrls[this.#current]
  }

  async get<T>(path: string, timeoutMs = 10_000, signal?: AbortSignal): Promise<T> {
    return JSON.parse((await this.#call('GET', path, undefined, timeoutMs, signal)).toString('utf8')) as T
  }

  /** A body that is not JSON (the KRL), as the broker sent it. */
  getBytes(path: string, timeoutMs = 10_000, signal?: AbortSignal): Promise<Buffer> {
    return this.#call('GET', path, undefined, timeoutMs, signal)
  }

  async post<T>(path: string, body: unknown, timeoutMs = 10_000): Promise<T> {
    return JSON.parse((await this.#call('POST', path, body, timeoutMs)).toString('utf8')) as T
  }

  async #call(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
    if (this.caFile) this.#ca ??= readFileSync(this.caFile)
    let answer: OutboundAnswer | undefined
    for (let tried = 1; !answer; tried++) {
      const url = path.startsWith('/.well-known') || path === '/healthz' ? `${this.brokerUrl}${path}` : `${this.brokerUrl}${API_PREFIX}${path}`
      try {
        answer = await send(url, {
          method,
          headers: { authorization: `Bearer ${this.#token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          timeoutMs,
          signal,
          ca: this.#ca,
        })
      } catch (error) {
        if (!signal?.aborted && tried < this.brokerUrls.length && mayTryNextBroker(method, error as NodeJS.ErrnoException)) {
          this.#current = (this.#current + 1) % this.brokerUrls.length
          continue
        }
        throw new GatewayBrokerError(`broker ${this.brokerUrl} unreachable: ${(error as Error).name === 'TimeoutError' ? 'timed out' : ((error as { cause?: Error }).cause?.message ?? (error as Error).message)}`)
      }
    }
    if (answer.status < 200 || answer.status >= 300) {
      let detail = answer.text.slice(0, 300)
      try {
        detail = (JSON.parse(answer.text) as { detail?: string }).detail ?? detail
      } catch {
        // not a problem document; keep the start of the body
      }
      throw new GatewayBrokerError(`broker answered ${answer.status} to ${method} ${path.split('?')[0]}: ${detail}`, answer.status)
    }
    return answer.bytes
  }
}
