// The data folder and database flags of every operator command, and a way to use the store and close it.
import { Flags } from '@oclif/core'
import { UsageError } from '../errors.js'
import type { Store } from './store/store.js'

/** The shared database of brokers that run on PostgreSQL; without it, the SQLite file in --data. */
export const databaseFlags = {
  database: Flags.string({ env: 'JIT_DATABASE', summary: 'Run on this PostgreSQL database (postgres://USER@HOST:PORT/DATABASE, no password in it) instead of the SQLite file in --data.' }),
  'database-password-file': Flags.string({ env: 'JIT_DATABASE_PASSWORD_FILE', dependsOn: ['database'], summary: 'File holding the database password (else JIT_DATABASE_PASSWORD).' }),
}

export const dataFlag = { data: Flags.string({ env: 'JIT_DATA', required: true, summary: 'The broker data folder (operator commands run on the broker host).' }) }

/**
 * For commands that need the store and no key file: the data folder's SQLite file, or the
 * PostgreSQL database (then --data is not needed).
 */
export const storeFlags = {
  data: Flags.string({ env: 'JIT_DATA', summary: 'The broker data folder (operator commands run on the broker host); not needed with --database.' }),
  ...databaseFlags,
}

/** For commands offered both ways: on the data folder (broker host), or else through the admin API as an enrolled admin. */
export const dataOrApiFlag = { data: Flags.string({ env: 'JIT_DATA', summary: 'Run on this broker data folder (on the broker host); without it, through the admin API (admin role).' }) }

/** Where an operator command finds the store: the parsed --data and --database flags. */
export interface StoreFlags {
  data?: string
  database?: string
  'database-password-file'?: string
}

/** Whether the flags name a store (else a command offered both ways goes through the admin API). */
export const namesStore = (flags: StoreFlags): boolean => flags.data !== undefined || flags.database !== undefined

/**
 * Opens the store the flags name (the PostgreSQL database when --database is given, else the SQLite
 * file in --data), runs fn and closes it. fn may answer with a promise: the store stays open until
 * it settles.
 */
export async function withStore<T>(flags: StoreFlags, fn: (store: Store, admin: typeof import('./admin.js')) => T | Promise<T>): Promise<T> {
  if (!namesStore(flags)) throw new UsageError('Name the broker\'s store: --data DIR (its data folder) or --database postgres://USER@HOST:PORT/DATABASE.')
  const [admin, { openStore }] = await Promise.all([import('./admin.js'), import('./store/open.js')])
  // On PostgreSQL the data folder holds only key files, which these functions do not read.
  const store = await openStore({ dataDir: flags.data ?? '', database: flags.database, passwordFile: flags['database-password-file'] })
  try {
    return await fn(store, admin)
  } finally {
    await store.close()
  }
}
