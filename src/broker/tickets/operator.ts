// The register on the data folder, for `jit admin ticket … --data DIR` on the broker host
// (filesystem access is the operator's credential). Closing here ends the ticket's sessions
// through the running broker's sweep, within a second.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../../errors.js'
import type { AddTicketBody, RegisterTicket, RegisterTicketState, TicketChangeResult } from '../../wire/tickets.js'
import { ApiError } from '../api-error.js'
import { SqliteAsyncStore } from '../store/sqlite-async-store.js'
import { SqliteStore } from '../store/sqlite-store.js'
import type { Store } from '../store/store.js'
import { addRegisterTicket, listRegisterTickets, setRegisterTicketState } from './register-ops.js'

const OPERATOR = `operator:${process.env.USER ?? 'local'}`

async function onDataFolder<T>(dataDir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  // A mistyped folder must not become a new, empty broker database that the broker never reads.
  if (!existsSync(join(dataDir, 'broker.db'))) throw new UsageError(`${dataDir} is not a broker data folder (no broker.db).`, ['Pass the folder the broker was started with (jit broker start --data DIR).'])
  const sqlite = new SqliteStore(dataDir)
  try {
    return await fn(new SqliteAsyncStore(sqlite))
  } catch (error) {
    if (error instanceof ApiError) throw new UsageError(error.message, error.extra.nextSteps ?? [])
    throw error
  } finally {
    sqlite.close()
  }
}

export const registerOnDataFolder = {
  add: (dataDir: string, body: AddTicketBody): Promise<RegisterTicket> => onDataFolder(dataDir, (store) => addRegisterTicket(store, body, OPERATOR)),
  setState: (dataDir: string, id: string, state: RegisterTicketState, reason?: string): Promise<TicketChangeResult> =>
    onDataFolder(dataDir, (store) => setRegisterTicketState({ store }, id, state, OPERATOR, reason)),
  list: (dataDir: string, state?: RegisterTicketState): Promise<RegisterTicket[]> => onDataFolder(dataDir, (store) => listRegisterTickets(store, state)),
}
