// The register on the broker's store, for `jit admin ticket … --data DIR` (or --database
// postgres://…) on the broker host (filesystem or database access is the operator's credential).
// Closing here ends the ticket's sessions through the running brokers' sweep, within a second.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../../errors.js'
import type { AddTicketBody, RegisterTicket, RegisterTicketState, TicketChangeResult } from '../../wire/tickets.js'
import { ApiError } from '../api-error.js'
import { withStore, type StoreFlags } from '../operator.js'
import type { Store } from '../store/store.js'
import { addRegisterTicket, listRegisterTickets, setRegisterTicketState } from './register-ops.js'

const OPERATOR = `operator:${process.env.USER ?? 'local'}`

async function onDataFolder<T>(where: StoreFlags, fn: (store: Store) => Promise<T>): Promise<T> {
  // A mistyped folder must not become a new, empty broker database that the broker never reads.
  if (where.database === undefined && where.data !== undefined && !existsSync(join(where.data, 'broker.db'))) {
    throw new UsageError(`${where.data} is not a broker data folder (no broker.db).`, ['Pass the folder the broker was started with (jit broker start --data DIR).'])
  }
  return withStore(where, async (store) => {
    try {
      return await fn(store)
    } catch (error) {
      if (error instanceof ApiError) throw new UsageError(error.message, error.extra.nextSteps ?? [])
      throw error
    }
  })
}

export const registerOnDataFolder = {
  add: (where: StoreFlags, body: AddTicketBody): Promise<RegisterTicket> => onDataFolder(where, (store) => addRegisterTicket(store, body, OPERATOR)),
  setState: (where: StoreFlags, id: string, state: RegisterTicketState, reason?: string): Promise<TicketChangeResult> =>
    onDataFolder(where, (store) => setRegisterTicketState({ store }, id, state, OPERATOR, reason)),
  list: (where: StoreFlags, state?: RegisterTicketState): Promise<RegisterTicket[]> => onDataFolder(where, (store) => listRegisterTickets(store, state)),
}
