// Closing a ticket ends access: every active session opened for it ends through
// endSessionRecorded with cause 'ticket-closed'. Three paths lead here: the register (closed
// through the API at once; closed on the data folder by another process, seen by the sweep
// below within a second), a signed event from the ticket system (events.ts), and the poll of
// open sessions' tickets as a backstop. A reopened ticket opens nothing by itself.
//
// Break-glass and drill sessions are not ended by a ticket: they were opened without one (an
// incident id is only a note there) and end by their own hard cap and review.
import { ticketSystem } from '../../policy/evaluate.js'
import type { BrokerContext } from '../context.js'
import { endSessionRecorded } from '../sessions.js'
import type { Connector, Lookup } from './connector.js'
import { TicketSystemUnreachable } from './connector.js'
import { registerOf, ticketLookups } from './lookups.js'

export type ClosedVia = 'register' | 'webhook' | 'poll'

/** Ends the active standard sessions of a ticket. Call inside a transaction; returns the ended ids. */
export async function endSessionsForTicket(ctx: BrokerContext, ticket: string, end: { by: string; via: ClosedVia; state?: string }): Promise<string[]> {
  const nowEpoch = ctx.now() / 1000
  const ids = await registerOf(ctx.store).activeSessionsOf(ticket, nowEpoch)
  const ended: string[] = []
  for (const id of ids) {
    const session = (await ctx.store.sessions.get(id, nowEpoch))!
    const reason = `ticket ${ticket} ${end.state === 'cancelled' ? 'was cancelled' : end.state === 'missing' ? 'no longer exists' : 'was closed'}`
    if (await endSessionRecorded(ctx, session, { state: 'revoked', by: end.by, reason, data: { cause: 'ticket-closed', ticket, via: end.via, ...(end.state ? { ticketState: end.state } : {}) } })) ended.push(id)
  }
  return ended
}

/** Sessions of register tickets that were closed on the data folder, by a process other than this broker. */
export async function sweepClosedRegisterTickets(ctx: BrokerContext): Promise<string[]> {
  const found = await registerOf(ctx.store).sessionsOfClosedTickets(ctx.now() / 1000)
  const tickets = [...new Set(found.map((f) => f.ticket))].filter((ticket) => isBuiltin(ctx, ticket))
  if (tickets.length === 0) return []
  return ctx.store.transaction(async () => {
    const ended: string[] = []
    for (const ticket of tickets) ended.push(...(await endSessionsForTicket(ctx, ticket, { by: 'broker', via: 'register', state: 'closed' })))
    return ended
  })
}

function isBuiltin(ctx: BrokerContext, ticket: string): boolean {
  const system = ticketSystem(ctx.policy, ticket)
  return system !== undefined && ctx.policy.ticketSystems[system]?.connector === 'builtin'
}

/** The tickets of active standard sessions, by external ticket system. */
async function openTicketsBySystem(ctx: BrokerContext): Promise<Map<string, string[]>> {
  const tickets = await registerOf(ctx.store).ticketsOfActiveSessions(ctx.now() / 1000)
  const bySystem = new Map<string, string[]>()
  for (const ticket of tickets) {
    const system = ticketSystem(ctx.policy, ticket)
    const config = system ? ctx.policy.ticketSystems[system] : undefined
    if (!system || !config || config.connector === 'builtin') continue
    bySystem.set(system, [...(bySystem.get(system) ?? []), ticket])
  }
  return bySystem
}

/** Asks each due external system about the tickets of open sessions; ends those closed or gone. */
export async function pollTicketSystems(ctx: BrokerContext, due: (system: string) => boolean, log: (line: string) => void): Promise<string[]> {
  const ended: string[] = []
  for (const [system, tickets] of await openTicketsBySystem(ctx)) {
    if (!due(system)) continue
    const lookups = ticketLookups(ctx)
    const connector = lookups.connector(system)
    if (!connector) continue
    let answers: Map<string, Lookup>
    try {
      answers = connector.lookupMany ? await connector.lookupMany(tickets) : await lookupEach(connector, system, tickets, log)
    } catch (error) {
      if (!(error instanceof TicketSystemUnreachable)) throw error
      log(`tickets: poll of ${system} failed: ${error.message}; open sessions stay until it answers or their ticket closes`)
      continue
    }
    for (const [ticket, lookup] of answers) {
      lookups.remember(system, ticket, lookup)
      if (lookup.found && lookup.ticket.open) continue
      const state = lookup.found ? 'closed' : 'missing'
      ended.push(...(await ctx.store.transaction(() => endSessionsForTicket(ctx, ticket, { by: 'broker', via: 'poll', state }))))
    }
  }
  return ended
}

/**
 * One lookup per ticket, for systems without a batch call: an answer jit cannot read for one
 * ticket (logged; its sessions stay until a later poll) does not hide the others' answers.
 */
async function lookupEach(connector: Connector, system: string, tickets: string[], log: (line: string) => void): Promise<Map<string, Lookup>> {
  const answers = new Map<string, Lookup>()
  const failures: string[] = []
  await Promise.all(tickets.map(async (ticket) => {
    try {
      answers.set(ticket, await connector.lookup(ticket))
    } catch (error) {
      if (!(error instanceof TicketSystemUnreachable)) throw error
      failures.push(`${ticket}: ${error.message}`)
    }
  }))
  if (failures.length > 0) log(`tickets: poll of ${system} could not check ${failures.join('; ')}; their sessions stay until it answers or the ticket closes`)
  return answers
}

const TICK_MS = 1000

/** Runs the register sweep every second and each external system's poll at its poll_interval. */
export function startTicketWatch(ctx: BrokerContext, log: (line: string) => void): { stop(): Promise<void> } {
  registerOf(ctx.store) // its tables exist from the start
  const lastPoll = new Map<string, number>()
  const startedAt = ctx.now()
  let polling = false
  // A session's ticket was checked when it opened: the first poll comes one interval later.
  const due = (system: string) => {
    const interval = (ctx.policy.ticketSystems[system]?.pollIntervalSeconds ?? 30) * 1000
    const now = ctx.now()
    if (now - (lastPoll.get(system) ?? startedAt) < interval) return false
    lastPoll.set(system, now)
    return true
  }
  let sweeping: Promise<void> | undefined
  const timer = setInterval(() => {
    // One broker of the database watches tickets at a time; another takes over when it dies.
    const mine = ctx.store.holdsDuty('ticket-watch').catch((error: Error) => {
      log(`error: tickets: ${error.message}`)
      return false
    })
    sweeping ??= mine
      .then((held) => (held ? sweepClosedRegisterTickets(ctx) : []))
      .then((swept) => {
        if (swept.length === 0) return
        ctx.notifier.kick()
        log(`tickets: ended ${swept.join(', ')}: their work order was closed`)
      })
      .catch((error: Error) => log(`error: tickets: register sweep: ${error.message}`))
      .finally(() => (sweeping = undefined))
    if (polling) return
    polling = true
    mine
      .then((held) => (held ? pollTicketSystems(ctx, due, log) : []))
      .then((ended) => {
        if (ended.length > 0) log(`tickets: ended ${ended.join(', ')}: the ticket system says their ticket is closed`)
      })
      .catch((error: Error) => log(`error: tickets: poll: ${error.message}`))
      .finally(() => (polling = false))
  }, TICK_MS)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await sweeping
    },
  }
}
