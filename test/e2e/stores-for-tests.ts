// Stores of both kinds for tests that run the same case on each: a SQLite store in a temporary
// folder, and PostgreSQL stores on one server the test file starts (./postgres.ts). Every store is
// closed, and the server stopped, after the file.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { databaseLogin } from '../../src/broker/store/postgres/connection.js'
import { PostgresStore } from '../../src/broker/store/postgres/postgres-store.js'
import { SqliteAsyncStore } from '../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../src/broker/store/sqlite-store.js'
import { startPostgres, type TestPostgres } from './postgres.js'

export interface TestStores {
  /** The file's PostgreSQL server (started in beforeAll). */
  server(): TestPostgres
  /** A store on the database at url (default: a new, empty one); several on one url stand for several brokers. */
  postgres(url?: string): Promise<PostgresStore>
  /** A store on a new SQLite file; with group commit as the running broker has it. */
  sqlite(options?: { groupCommit?: boolean }): SqliteAsyncStore
}

export function storesForTests(): TestStores {
  let server: TestPostgres | undefined
  const closers: (() => Promise<void>)[] = []
  beforeAll(async () => {
    server = await startPostgres()
  })
  afterAll(async () => {
    for (const close of closers) await close().catch(() => {})
    await server?.stop()
  })
  const running = () => {
    if (!server) throw new Error('The PostgreSQL server starts in beforeAll.')
    return server
  }
  return {
    server: running,
    async postgres(url = running().createDatabase(`store_${Math.random().toString(36).slice(2, 10)}`)) {
      const store = await PostgresStore.open(databaseLogin(url, { env: { JIT_DATABASE_PASSWORD: running().password } }))
      closers.push(() => store.close())
      return store
    },
    sqlite(options = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'jit-store-'))
      const sync = new SqliteStore(dir)
      if (options.groupCommit) sync.enableGroupCommit()
      const store = new SqliteAsyncStore(sync)
      closers.push(async () => {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      })
      return store
    },
  }
}
