// The data folder flag of every operator command, and a way to use the store and close it.
import { Flags } from '@oclif/core'
import type { SqliteStore } from './store/sqlite-store.js'

/** The shared database of brokers that run on PostgreSQL; without it, the SQLite file in --data. */
export const databaseFlags = {
  database: Flags.string({ env: 'JIT_DATABASE', summary: 'Run on this PostgreSQL database (postgres://USER@HOST:PORT/DATABASE, no password in it) instead of the SQLite file in --data.' }),
  'database-password-file': Flags.string({ env: 'JIT_DATABASE_PASSWORD_FILE', dependsOn: ['database'], summary: 'File holding the database password (else JIT_DATABASE_PASSWORD).' }),
}

export const dataFlag = { data: Flags.string({ env: 'JIT_DATA', required: true, summary: 'The broker data folder (operator commands run on the broker host).' }) }

/** For commands offered both ways: on the data folder (broker host), or else through the admin API as an enrolled admin. */
export const dataOrApiFlag = { data: Flags.string({ env: 'JIT_DATA', summary: 'Run on this broker data folder (on the broker host); without it, through the admin API (admin role).' }) }

/** fn may answer with a promise: the store stays open until it settles. */
export async function withStore<T>(dataDir: string, fn: (store: SqliteStore, admin: typeof import('./admin.js')) => T | Promise<T>): Promise<T> {
  const admin = await import('./admin.js')
  const store = admin.openStore(dataDir)
  try {
    return await fn(store, admin)
  } finally {
    store.close()
  }
}
