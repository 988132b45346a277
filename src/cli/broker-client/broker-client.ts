// Talks to the broker over HTTP(S) (Node's http/https, see ./http.ts). Signs every call with the device key, maps
// connection and TLS failures to exit 5 and problem documents to the matching JitError.
import { readFileSync } from 'node:fs'
import { isIPv4, isIPv6 } from 'node:net'
import type { HttpClient, HttpResponse } from './http.js'
import { AuthError, BrokerUnreachableError, JitError, UsageError, errorForProblem } from '../../errors.js'
import { deviceAssertion, type DeviceKey } from '../device/device-key.js'
import { API_PREFIX, type Problem } from '../../wire/api.js'
import { errorCode, isTlsFailure, mayTryNextBroker } from '../../util/broker-failover.js'
import { BrokerClock, MAX_CORRECTED_SKEW_SECONDS } from './broker-clock.js'

export interface ClientOptions {
  /** One broker URL, or several brokers of one plant separated by commas (tried in order; see #send). */
  broker: string
  caFile?: string
  insecure?: boolean
  /** Told once when the device clock is off and requests are signed with the broker's time instead. */
  onClockCorrected?: (offsetSeconds: number) => void | Promise<void>
  /** The broker's issuer, named in every signed call; required to sign. */
  audience?: string
}

/** Loopback by address, not by how a name starts: 127.0.0.0/8, ::1 and localhost (never 127.example.net). */
function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost') return true
  const host = hostname.replace(/^\[|\]$/g, '')
  if (isIPv4(host)) return host.startsWith('127.')
  return isIPv6(host) && host === '::1'
}

export function checkBrokerUrl(broker: string, insecure: boolean | undefined): URL {
  let url: URL
  try {
    url = new URL(broker)
  } catch {
    throw new UsageError(`"${broker}" is not a URL.`, ['Give the broker as https://host:port.'])
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`The broker URL must use https (got ${url.protocol}).`)
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !insecure) {
    throw new UsageError(`Refusing plain HTTP to ${url.host}: credentials would cross the network unencrypted.`, [
      'Use https://, or pass --insecure if you really mean it.',
    ])
  }
  return url
}

/**
 * The brokers named by `--broker` or the profile: one URL or several, comma-separated, each
 * checked like a single one; the same broker named twice is tried once.
 */
export function brokerList(brokers: string, insecure: boolean | undefined): URL[] {
  const urls = brokers.split(',').map((part) => part.trim()).filter((part) => part.length > 0).map((part) => checkBrokerUrl(part, insecure))
  if (urls.length === 0) throw new UsageError('No broker URL given.', ['Give the broker as https://host:port (several brokers of one plant: separated by commas).'])
  return urls.filter((url, i) => urls.findIndex((other) => other.origin === url.origin) === i)
}

let httpModule: Promise<typeof import('./http.js')> | undefined

/**
 * The HTTP client, loaded on first use, so that a command that never calls the broker does not
 * load it, and one that does can load it while the keychain looks up the device key (see
 * CliContext.client).
 */
export function loadHttpClient(): Promise<typeof import('./http.js')> {
  httpModule ??= import('./http.js')
  return httpModule
}

export class BrokerClient {
  /** Every broker this client may ask, in order. */
  readonly brokers: URL[]
  /** The broker asked first: the last one that answered. */
  #current = 0
  readonly #ca?: Buffer
  readonly #http = new Map<string, Promise<HttpClient>>()

  constructor(readonly options: ClientOptions, readonly key?: DeviceKey, readonly clock = new BrokerClock()) {
    this.brokers = brokerList(options.broker, options.insecure)
    if (options.caFile) {
      try {
        this.#ca = readFileSync(options.caFile)
      } catch {
        throw new UsageError(`Cannot read the CA file ${options.caFile}.`)
      }
    }
  }

  /** The broker calls go to (the one that answered last). */
  get base(): URL {
    return this.brokers[this.#current]
  }

  /** One HTTP client per protocol (plain HTTP to loopback, HTTPS elsewhere), kept for the process. */
  #client(url: URL): Promise<HttpClient> {
    let client = this.#http.get(url.protocol)
    if (!client) {
      client = loadHttpClient().then(({ HttpClient }) => new HttpClient(url, this.#ca))
      this.#http.set(url.protocol, client)
    }
    return client
  }

  withKey(key: DeviceKey): BrokerClient {
    return new BrokerClient(this.options, key, this.clock)
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.call<T>('GET', path, undefined, signal)
  }

  post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.call<T>('POST', path, body ?? {}, signal)
  }

  /** A signed GET whose answer is text (an export), not JSON; failures as for call(). */
  async getText(path: string): Promise<string> {
    return this.call<string>('GET', path, undefined, undefined, true)
  }

  /**
   * An API call under /v1 (or an absolute path), signed when this client has a device key. A
   * signed call refused for the device's clock is sent once more, signed with the broker's time,
   * when the offset is small enough to correct (the refused call did nothing at the broker).
   */
  async call<T>(method: string, path: string, body: unknown, signal?: AbortSignal, asText = false): Promise<T> {
    try {
      return await this.#send<T>(method, path, body, signal, asText)
    } catch (error) {
      const offset = error instanceof JitError ? error.details.offsetSeconds : undefined
      // Learned anew on every such refusal (once per call), so a device clock that NTP sets right
      // while a long jit exec runs does not leave it signing with a stale offset.
      if (!this.key || typeof offset !== 'number') throw error
      const corrected = this.clock.learn((error as JitError).details.brokerTime, Date.now())
      if (corrected === undefined) {
        throw new AuthError(`${(error as JitError).message} That is more than jit corrects by itself (${MAX_CORRECTED_SKEW_SECONDS / 60} min).`, (error as JitError).nextSteps, (error as JitError).details)
      }
      await this.options.onClockCorrected?.(corrected)
      return this.#send<T>(method, path, body, signal, asText)
    }
  }

  async #send<T>(method: string, path: string, body: unknown, signal: AbortSignal | undefined, asText: boolean): Promise<T> {
    const pathAndQuery = path.startsWith('/') && !path.startsWith(API_PREFIX) && !path.startsWith('/.well-known') && !path.startsWith('/healthz') ? `${API_PREFIX}${path}` : path
    const payload = body === undefined ? undefined : JSON.stringify(body)
    let response: HttpResponse | undefined
    for (let tried = 1; !response; tried++) {
      const url = new URL(pathAndQuery, this.base)
      const headers: Record<string, string> = { accept: 'application/json' }
      if (payload !== undefined) headers['content-type'] = 'application/json'
      // Signed anew for each broker asked: an assertion is good for one use only.
      if (this.key) headers.authorization = deviceAssertion(this.key, method, `${url.pathname}${url.search}`, payload, this.options.audience ?? this.base.origin, this.clock.nowMs())
      const http = await this.#client(url)
      try {
        response = await http.request(url, { method, headers, body: payload, signal })
      } catch (error) {
        if ((error as Error).name === 'AbortError') throw error
        if (tried < this.brokers.length && mayTryNextBroker(method, error as NodeJS.ErrnoException)) {
          this.#current = (this.#current + 1) % this.brokers.length
          continue
        }
        if (tried < this.brokers.length && !isTlsFailure(error as NodeJS.ErrnoException)) throw answerLost(this.base, method, path)
        throw unreachable(this.base, error as NodeJS.ErrnoException, tried)
      }
    }
    const text = response.text
    if (asText && response.statusCode < 400) return text as T
    let data: unknown
    try {
      data = text.length > 0 ? JSON.parse(text) : {}
    } catch {
      throw new BrokerUnreachableError(`${this.base.host} answered with something that is not the jit broker's API (HTTP ${response.statusCode}).`, ['Check the broker URL.'])
    }
    if (response.statusCode >= 400) {
      const problem = data as Problem
      // Its database away: as unreachable as the broker itself (exit 5); a change may or may not have been made.
      if (response.statusCode === 503 && problem.code === 'unavailable') throw new BrokerUnreachableError(`The broker at ${this.base.origin} cannot reach its database.`, method === 'GET' ? ['Try again in a moment; if it persists, tell the broker operator.'] : ['Check what happened (jit requests, jit sessions) before you repeat it; if it persists, tell the broker operator.'])
      // The target of the asset (its database) could not give the session an account: nothing opened.
      if (problem.code === 'target-failed') throw new BrokerUnreachableError(problem.detail, problem.nextSteps ?? [])
      if (response.statusCode >= 500) throw new JitError(`The broker failed: ${problem.detail ?? `HTTP ${response.statusCode}`}`, ['Try again; if it persists, tell the broker operator.'])
      throw errorForProblem(problem)
    }
    return data as T
  }

  async close(): Promise<void> {
    await Promise.all([...this.#http.values()].map(async (client) => (await client).close()))
  }
}

/** A change that may have been carried out: another broker is not asked, and the user is told to look first. */
function answerLost(base: URL, method: string, path: string): BrokerUnreachableError {
  return new BrokerUnreachableError(`The broker at ${base.origin} stopped answering during ${method} ${path.split('?')[0]}; it may have been carried out, so jit did not send it to another broker.`, [
    'Check what happened (jit requests, jit sessions) before you repeat it.',
  ])
}

function unreachable(base: URL, error: NodeJS.ErrnoException, brokersTried = 1): BrokerUnreachableError {
  const code = errorCode(error)
  if (isTlsFailure(error)) {
    return new BrokerUnreachableError(`TLS with ${base.host} failed: the broker's certificate is not trusted (${code || 'TLS error'}).`, [
      'If the broker uses a private CA, pass it: --ca-file ca.pem (or JIT_CA_FILE).',
    ])
  }
  const which = brokersTried > 1 ? `any of the ${brokersTried} brokers asked (the last, ${base.origin}: ` : `the broker at ${base.origin} (`
  return new BrokerUnreachableError(`Cannot reach ${which}${code || error.message}).`, [
    'Check the network and the broker URL; is the broker running (jit broker start)?',
  ])
}
