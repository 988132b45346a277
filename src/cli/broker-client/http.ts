// The parts of undici the broker client uses, in a module of their own so that they can be
// loaded on first use (see loadHttpClient). They come from the two modules they live in, not
// undici's index, which also loads fetch, WebSocket, EventSource, caches and mocks on every
// start; undici declares no "exports" map, so the paths are part of the package as published.
// request() is what undici's index makes of the same module (makeDispatcher in its index.js).
import type { Dispatcher } from 'undici'
import Agent from 'undici/lib/dispatcher/agent.js'
import dispatcherRequest from 'undici/lib/api/api-request.js'

export { Agent }

export function request(url: URL, options: { dispatcher: Dispatcher } & Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options
  return dispatcherRequest.call(dispatcher, { ...rest, origin: url.origin, path: `${url.pathname}${url.search}` })
}
