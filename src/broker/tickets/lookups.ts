// The connector of each ticket system the policy names, built again when its settings change
// (policy reload), and the lookup cache: an answer (found or not) is reused for the system's
// cache_ttl at most; a failure to reach the system is never cached. The last approval and a
// renewal ask with `fresh` (tickets/check.ts): neither opens or extends a session on a cached answer.
import type { TicketSystemConfig } from '../../policy/types.js'
import type { BrokerContext } from '../context.js'
import type { Store } from '../store/store.js'
import { notFound, type Connector, type Lookup } from './connector.js'
import { HttpConnector } from './generic-http.js'
import { JiraConnector } from './jira.js'
import { TicketRegister } from './register.js'
import { ServiceNowConnector } from './servicenow.js'

const MAX_CACHED = 10_000

const registers = new WeakMap<Store, TicketRegister>()

/** The built-in register on a store (its table is created on first use). */
export function registerOf(store: Store): TicketRegister {
  let register = registers.get(store)
  if (!register) {
    register = new TicketRegister(store)
    registers.set(store, register)
  }
  return register
}

class BuiltinConnector implements Connector {
  constructor(readonly config: TicketSystemConfig, readonly register: TicketRegister) {}

  async lookup(id: string): Promise<Lookup> {
    const ticket = await this.register.get(id)
    if (!ticket) return notFound
    return {
      found: true,
      ticket: { id, open: ticket.state === 'open', state: ticket.state, assignees: ticket.assignee ? [ticket.assignee] : [], org: ticket.org, assets: [ticket.asset], title: ticket.title },
    }
  }
}

function buildConnector(config: TicketSystemConfig, store: Store): Connector {
  switch (config.connector) {
    case 'builtin':
      return new BuiltinConnector(config, registerOf(store))
    case 'servicenow':
      return new ServiceNowConnector(config)
    case 'jira':
      return new JiraConnector(config)
    case 'http':
      return new HttpConnector(config)
  }
}

export class TicketLookups {
  readonly #connectors = new Map<string, { settings: string; connector: Connector }>()
  readonly #cache = new Map<string, { atMs: number; lookup: Lookup }>()

  constructor(readonly ctx: BrokerContext) {}

  /** The connector of a ticket system, or undefined when the policy connects none (format checks only). */
  connector(system: string): Connector | undefined {
    const config = this.ctx.policy.ticketSystems[system]
    if (!config) return undefined
    const settings = JSON.stringify(config)
    const known = this.#connectors.get(system)
    if (known?.settings === settings) return known.connector
    const connector = buildConnector(config, this.ctx.store)
    this.#connectors.set(system, { settings, connector })
    this.invalidateSystem(system)
    return connector
  }

  /** Looks a ticket up, from the cache while its answer is younger than cache_ttl (unless fresh). */
  async lookup(system: string, id: string, options: { fresh?: boolean } = {}): Promise<Lookup | undefined> {
    const connector = this.connector(system)
    if (!connector) return undefined
    const key = `${system}\u0000${id}`
    const ttlMs = connector.config.cacheTtlSeconds * 1000
    const cached = this.#cache.get(key)
    const now = this.ctx.now()
    if (!options.fresh && cached && ttlMs > 0 && now - cached.atMs < ttlMs) return cached.lookup
    const lookup = await connector.lookup(id)
    this.remember(system, id, lookup)
    return lookup
  }

  remember(system: string, id: string, lookup: Lookup): void {
    const ttl = this.ctx.policy.ticketSystems[system]?.cacheTtlSeconds ?? 0
    if (ttl <= 0 || this.ctx.policy.ticketSystems[system]?.connector === 'builtin') return
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!)
    this.#cache.set(`${system}\u0000${id}`, { atMs: this.ctx.now(), lookup })
  }

  invalidate(system: string, id: string): void {
    this.#cache.delete(`${system}\u0000${id}`)
  }

  invalidateSystem(system: string): void {
    for (const key of this.#cache.keys()) if (key.startsWith(`${system}\u0000`)) this.#cache.delete(key)
  }
}

const lookups = new WeakMap<BrokerContext, TicketLookups>()

/** The lookups of one broker (one per context, so a test's brokers never share a cache). */
export function ticketLookups(ctx: BrokerContext): TicketLookups {
  let found = lookups.get(ctx)
  if (!found) {
    found = new TicketLookups(ctx)
    lookups.set(ctx, found)
  }
  return found
}
