// Which store the end-to-end brokers run on. By default each broker keeps the SQLite file in its
// data folder; with JIT_TEST_STORE=postgres (npm run test:postgres) each broker runs with
// --database on a fresh database of the one PostgreSQL server the run shares (started by
// test/e2e/postgres-global.ts, which hands its address and password file to the test workers).
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import { openStore } from '../../src/broker/store/open.js'
import type { Store } from '../../src/broker/store/store.js'

export const ON_POSTGRES = process.env.JIT_TEST_STORE === 'postgres'

/** Why a test is skipped on PostgreSQL: it checks behaviour of the SQLite file itself. */
export const SQLITE_ONLY = 'SQLite-specific: inspects or tampers with the data folder\'s SQLite file'

export interface TestDatabase {
  /** postgres://jit@127.0.0.1:PORT/DB, no password. */
  url: string
  /** A file holding the password (mode 0600), for --database-password-file. */
  passwordFile: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's PostgreSQL server (postgres-global.ts); undefined on SQLite runs. */
    postgres: { url: string; passwordFile: string; password: string } | undefined
  }
}

/** The shared server's coordinates, from the global setup. */
function server(): { url: string; passwordFile: string; password: string } {
  const shared = inject('postgres')
  if (!shared) throw new Error('JIT_TEST_STORE=postgres needs the global setup (vitest.config.ts: test/e2e/postgres-global.ts)')
  return shared
}

/** Makes an empty database on the shared server. */
export async function freshDatabase(): Promise<TestDatabase> {
  const { url, passwordFile, password } = server()
  const name = `jit_${randomBytes(6).toString('hex')}`
  // Host, port and user from the URL; the password as an option (a connection string's missing one would override it).
  const at = new URL(url)
  const admin = new pg.Client({ host: at.hostname, port: Number(at.port), user: decodeURIComponent(at.username), database: 'postgres', password })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  return { url: `${url}/${name}`, passwordFile }
}

/** The arguments that point `jit broker start` or `jit admin …` at a broker's store. */
export function storeArgs(dataDir: string, database?: TestDatabase): string[] {
  return ['--data', dataDir, ...(database ? ['--database', database.url, '--database-password-file', database.passwordFile] : [])]
}

/** Opens a broker's store in the test process (the operator's functions run on it). */
export function openTestStore(dataDir: string, database?: TestDatabase): Promise<Store> {
  return openStore({ dataDir, database: database?.url, passwordFile: database?.passwordFile })
}
