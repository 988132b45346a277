// The PostgreSQL schema on a real PostgreSQL (Debian's packages, started by ./postgres.ts):
// versioned migrations applied once, safely from several brokers at once, a newer schema
// refused untouched, and the tables matching the SQLite store's column for column.
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listCheckpoints } from '../../src/broker/audit-anchor.js'
import { ReviewStore } from '../../src/broker/breakglass/review-store.js'
import { ensureGatewaySchema } from '../../src/broker/gateway/gateways.js'
import { CertificateStore } from '../../src/broker/ssh-ca/cert-store.js'
import { SqliteStore } from '../../src/broker/store/sqlite-store.js'
import { connect, databaseLogin } from '../../src/broker/store/postgres/connection.js'
import { DatabaseAuthError, DatabaseSchemaTooNewError, DatabaseUnreachableError } from '../../src/broker/store/postgres/errors.js'
import { LATEST_SCHEMA_VERSION, MIGRATIONS, TABLES, applyMigrations, currentVersion } from '../../src/broker/store/postgres/schema.js'
import { TicketRegister } from '../../src/broker/tickets/register.js'
import { verificationsOf } from '../../src/broker/verifications.js'
import { cleanup, tempDir } from './harness.js'
import { freePort } from './ssh-server.js'
import { startPostgres, type TestPostgres } from './postgres.js'
import { SqliteAsyncStore } from '../../src/broker/store/sqlite-async-store.js'

let server: TestPostgres
const clients: pg.Client[] = []

async function client(database: string): Promise<pg.Client> {
  const c = await connect(databaseLogin(server.url(database), { env: { JIT_DATABASE_PASSWORD: server.password } }))
  clients.push(c)
  return c
}

async function tablesOf(c: pg.ClientBase): Promise<Map<string, Map<string, string>>> {
  const { rows } = await c.query("SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'")
  const tables = new Map<string, Map<string, string>>()
  for (const row of rows) {
    if (!tables.has(row.table_name)) tables.set(row.table_name, new Map())
    tables.get(row.table_name)!.set(row.column_name, row.data_type)
  }
  return tables
}

beforeAll(async () => {
  server = await startPostgres()
}, 60_000)

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {})
  await server?.stop()
})

describe('migrations', () => {
  it('bring an empty database to the latest version once, and do nothing the second time', async () => {
    server.createDatabase('fresh')
    const c = await client('fresh')
    expect(await currentVersion(c)).toBe(0)
    expect(await applyMigrations(c)).toEqual({ from: 0, to: LATEST_SCHEMA_VERSION, applied: MIGRATIONS.map((m) => m.version) })
    expect(await applyMigrations(c)).toEqual({ from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION, applied: [] })
    const tables = await tablesOf(c)
    for (const { name } of TABLES) expect(tables.has(name), name).toBe(true)
    expect(server.psql('SELECT count(*) FROM jit_schema_migrations', 'fresh')).toBe(String(MIGRATIONS.length))
  })

  it('several brokers starting at once apply each migration exactly once', async () => {
    server.createDatabase('racing')
    const racers = await Promise.all([1, 2, 3, 4].map(() => client('racing')))
    const results = await Promise.all(racers.map((c) => applyMigrations(c)))
    expect(results.flatMap((r) => r.applied).sort()).toEqual(MIGRATIONS.map((m) => m.version))
    expect(server.psql('SELECT string_agg(version::text, \',\' ORDER BY version) FROM jit_schema_migrations', 'racing')).toBe(MIGRATIONS.map((m) => m.version).join(','))
  })

  it('refuse a database a newer jit migrated, and leave it untouched', async () => {
    server.createDatabase('newer')
    const c = await client('newer')
    const future = [...MIGRATIONS, { version: LATEST_SCHEMA_VERSION + 1, name: 'from a newer jit', sql: 'CREATE TABLE from_the_future (id BIGINT)' }]
    await applyMigrations(c, future)
    const before = server.psql("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'", 'newer')
    const refused = await applyMigrations(c).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(DatabaseSchemaTooNewError)
    expect((refused as DatabaseSchemaTooNewError).exitCode).toBe(2)
    expect((refused as Error).message).toContain(`schema version ${LATEST_SCHEMA_VERSION + 1}`)
    expect(server.psql("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'", 'newer')).toBe(before)
    expect(await currentVersion(c)).toBe(LATEST_SCHEMA_VERSION + 1)
  })
})

describe('the schema matches the SQLite store', () => {
  it('has every table and column the SQLite store and its feature modules create, with integer and text kept apart', async () => {
    const dataDir = tempDir('jit-parity-')
    const store = new SqliteStore(dataDir)
    try {
      // Every module that keeps tables of its own creates them.
      const tables = new SqliteAsyncStore(store)
      new ReviewStore(tables)
      new CertificateStore(tables)
      new TicketRegister(tables)
      ensureGatewaySchema(store)
      listCheckpoints(store)
      verificationsOf(store, 'ses_none')
    } finally {
      store.close()
    }
    const sqlite = new DatabaseSync(join(dataDir, 'broker.db'))
    const sqliteTables = new Map<string, Map<string, string>>()
    for (const { name } of sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]) {
      const columns = sqlite.prepare(`PRAGMA table_info("${name}")`).all() as { name: string; type: string }[]
      sqliteTables.set(name, new Map(columns.map((c) => [c.name, c.type.toUpperCase()])))
    }
    sqlite.close()
    cleanup(dataDir)

    server.createDatabase('parity')
    const c = await client('parity')
    await applyMigrations(c)
    const pgTables = await tablesOf(c)
    pgTables.delete('jit_schema_migrations')
    expect([...pgTables.keys()].sort()).toEqual([...sqliteTables.keys()].sort())
    expect(TABLES.map((t) => t.name).sort()).toEqual([...sqliteTables.keys()].sort())
    for (const [table, columns] of sqliteTables) {
      const pgColumns = pgTables.get(table)!
      expect([...pgColumns.keys()].sort(), table).toEqual([...columns.keys()].sort())
      for (const [column, type] of columns) {
        expect(pgColumns.get(column), `${table}.${column}`).toBe(type === 'INTEGER' ? 'bigint' : 'text')
      }
    }
  })
})

describe('connecting', () => {
  it('a wrong password is an authentication failure that does not repeat the password', async () => {
    const refused = await connect(databaseLogin(server.url(), { env: { JIT_DATABASE_PASSWORD: 'not-the-password-123' } })).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(DatabaseAuthError)
    expect((refused as DatabaseAuthError).exitCode).toBe(9)
    expect(JSON.stringify((refused as DatabaseAuthError).toJSON())).not.toContain('not-the-password-123')
  })

  it('nobody listening is "unreachable" (exit 5)', async () => {
    const port = await freePort()
    const refused = await connect(databaseLogin(`postgres://jit@127.0.0.1:${port}/jit`, { env: {} })).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(DatabaseUnreachableError)
    expect((refused as DatabaseUnreachableError).exitCode).toBe(5)
    expect((refused as Error).message).toContain(`127.0.0.1:${port}/jit`)
  })
})
