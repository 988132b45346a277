// Talks to the broker over HTTP(S) with undici. Signs every call with the device key, maps
// connection and TLS failures to exit 5 and problem documents to the matching JitError.
import { readFileSync } from 'node:fs'
import { isIPv4, isIPv6 } from 'node:net'
import type { Dispatcher } from 'undici'
import { BrokerUnreachableError, JitError, UsageError, errorForProblem } from '../../errors.js'
import { deviceAssertion, type DeviceKey } from '../device/device-key.js'
import { API_PREFIX, type Problem } from '../../wire/api.js'

export interface ClientOptions {
  broker: string
  caFile?: string
  insecure?: boolean
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

let undici: Promise<typeof import('./http.js')> | undefined

/**
 * undici, loaded on first use: after Node itself it is the biggest part of the CLI's start-up,
 * so a command that never calls the broker does not load it, and one that does can load it
 * while the keychain looks up the device key (see CliContext.client).
 */
export function loadHttpClient(): Promise<typeof import('./http.js')> {
  undici ??= import('./http.js')
  return undici
}

export class BrokerClient {
  readonly base: URL
  readonly #ca?: Buffer
  #dispatcher?: Promise<Dispatcher>

  constructor(readonly options: ClientOptions, readonly key?: DeviceKey) {
    this.base = checkBrokerUrl(options.broker, options.insecure)
    if (options.caFile) {
      try {
        this.#ca = readFileSync(options.caFile)
      } catch {
        throw new UsageError(`Cannot read the CA file ${options.caFile}.`)
      }
    }
  }

  #agent(): Promise<Dispatcher> {
    const ca = this.#ca
    this.#dispatcher ??= loadHttpClient().then(({ Agent }) => new Agent({ connect: ca ? { ca } : {}, keepAliveTimeout: 10_000, headersTimeout: 60_000, bodyTimeout: 60_000 }))
    return this.#dispatcher
  }

  withKey(key: DeviceKey): BrokerClient {
    return new BrokerClient(this.options, key)
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

  /** An API call under /v1 (or an absolute path), signed when this client has a device key. */
  async call<T>(method: string, path: string, body: unknown, signal?: AbortSignal, asText = false): Promise<T> {
    const pathAndQuery = path.startsWith('/') && !path.startsWith(API_PREFIX) && !path.startsWith('/.well-known') && !path.startsWith('/healthz') ? `${API_PREFIX}${path}` : path
    const url = new URL(pathAndQuery, this.base)
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (payload !== undefined) headers['content-type'] = 'application/json'
    if (this.key) headers.authorization = deviceAssertion(this.key, method, `${url.pathname}${url.search}`, payload, this.options.audience ?? this.base.origin)
    const [{ request }, dispatcher] = await Promise.all([loadHttpClient(), this.#agent()])
    let response: Dispatcher.ResponseData
    try {
      response = await request(url, { method: method as Dispatcher.HttpMethod, headers, body: payload, dispatcher, signal })
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error
      throw unreachable(this.base, error as NodeJS.ErrnoException)
    }
    const text = await response.body.text()
    if (asText && response.statusCode < 400) return text as T
    let data: unknown
    try {
      data = text.length > 0 ? JSON.parse(text) : {}
    } catch {
      throw new BrokerUnreachableError(`${this.base.host} answered with something that is not the jit broker's API (HTTP ${response.statusCode}).`, ['Check the broker URL.'])
    }
    if (response.statusCode >= 400) {
      const problem = data as Problem
      if (response.statusCode >= 500) throw new JitError(`The broker failed: ${problem.detail ?? `HTTP ${response.statusCode}`}`, ['Try again; if it persists, tell the broker operator.'])
      throw errorForProblem(problem)
    }
    return data as T
  }

  async close(): Promise<void> {
    if (this.#dispatcher) await (await this.#dispatcher).close()
  }
}

function unreachable(base: URL, error: NodeJS.ErrnoException): BrokerUnreachableError {
  const code = error.code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code ?? ''
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || /certificate|TLS|SSL/i.test(error.message)) {
    return new BrokerUnreachableError(`TLS with ${base.host} failed: the broker's certificate is not trusted (${code || 'TLS error'}).`, [
      'If the broker uses a private CA, pass it: --ca-file ca.pem (or JIT_CA_FILE).',
    ])
  }
  return new BrokerUnreachableError(`Cannot reach the broker at ${base.origin} (${code || error.message}).`, [
    'Check the network and the broker URL; is the broker running (jit broker start)?',
  ])
}
