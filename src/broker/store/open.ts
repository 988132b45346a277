// Which store a broker (or an operator command) runs on: the embedded SQLite file in the data
// folder, or a PostgreSQL database shared by several brokers when a database URL is given.
import { databaseLogin } from './postgres/connection.js'
import { SqliteAsyncStore } from './sqlite-async-store.js'
import { SqliteStore } from './sqlite-store.js'
import type { Store } from './store.js'

export interface StoreChoice {
  /** The data folder: the SQLite file's, and in every case the broker's key files'. */
  dataDir: string
  /** postgres://USER@HOST:PORT/DATABASE; the password from passwordFile or JIT_DATABASE_PASSWORD. */
  database?: string
  passwordFile?: string
}

export async function openStore(choice: StoreChoice): Promise<Store> {
  if (choice.database === undefined) return new SqliteAsyncStore(new SqliteStore(choice.dataDir))
  const login = databaseLogin(choice.database, { passwordFile: choice.passwordFile })
  const { PostgresStore } = await import('./postgres/postgres-store.js')
  return PostgresStore.open(login)
}

/** Where the store keeps its data, for log lines (never with a password). */
export function describeStore(choice: StoreChoice): string {
  return choice.database === undefined ? `data ${choice.dataDir}` : `database ${choice.database.replace(/\?.*$/, '')}, keys in ${choice.dataDir}`
}
