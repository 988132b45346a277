// The schema, one numbered list of migrations for both engines (src/broker/store/schema/), on a
// real PostgreSQL (Debian's packages, started by ./postgres.ts) and real SQLite files: applied
// once, safely from several brokers at once; a newer schema refused untouched; the same tables
// and columns on both; a column added through the list seen on both; and a database of every
// earlier version of jit (SQLite data folders from before numbered migrations, PostgreSQL at
// each migration) brought to the latest on open, its rows intact.
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/audit/chain.js'
import { SqliteAsyncStore } from '../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../src/broker/store/sqlite-store.js'
import { connect, databaseLogin } from '../../src/broker/store/postgres/connection.js'
import { DatabaseAuthError, DatabaseSchemaTooNewError, DatabaseUnreachableError } from '../../src/broker/store/postgres/errors.js'
import { PostgresStore } from '../../src/broker/store/postgres/postgres-store.js'
import { migratePostgres as applyMigrations, postgresVersion as currentVersion } from '../../src/broker/store/schema/migrate.js'
import { LATEST_SCHEMA_VERSION, MIGRATIONS, TABLES, type Migration } from '../../src/broker/store/schema/migrations.js'
import type { Store } from '../../src/broker/store/store.js'
import { UNNUMBERED_SQLITE_SCHEMAS } from './fixtures/unnumbered-sqlite-schemas.js'
import { cleanup, tempDir } from './harness.js'
import { freePort } from './ssh-server.js'
import { startPostgres, type TestPostgres } from './postgres.js'

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

/** Each table's columns and their types, as SQLite reports them. */
function sqliteTablesOf(db: DatabaseSync): Map<string, Map<string, string>> {
  const tables = new Map<string, Map<string, string>>()
  for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]) {
    const columns = db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string; type: string }[]
    tables.set(name, new Map(columns.map((c) => [c.name, c.type.toUpperCase()])))
  }
  return tables
}

function sqliteFile<T>(dataDir: string, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(join(dataDir, 'broker.db'))
  try {
    return fn(db)
  } finally {
    db.close()
  }
}

const versionsOf = (db: DatabaseSync) => (db.prepare('SELECT version FROM jit_schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version)

/** The tables and columns a fresh data folder gets: what every older one must end up with. */
let freshSqlite: Map<string, Map<string, string>>

beforeAll(() => {
  const dataDir = tempDir('jit-fresh-')
  new SqliteStore(dataDir).close()
  freshSqlite = sqliteFile(dataDir, sqliteTablesOf)
  cleanup(dataDir)
})

describe('one list for both engines', () => {
  it('makes the same tables and columns on both, with integer and text kept apart', async () => {
    const sqliteTables = new Map(freshSqlite)
    server.createDatabase('parity')
    const c = await client('parity')
    await applyMigrations(c)
    const pgTables = await tablesOf(c)
    // Each broker's durability barrier row (postgres-store.ts): no broker data, nothing to move.
    expect(pgTables.delete('jit_durability_marks')).toBe(true)
    // The record of migrations: on both, the time in each engine's own type.
    for (const tables of [pgTables, sqliteTables]) expect(tables.delete('jit_schema_migrations')).toBe(true)
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

  it('a column added by one more migration is there on both engines, written and read by the same SQL', async () => {
    const next = LATEST_SCHEMA_VERSION + 1
    const withNote: Migration[] = [...MIGRATIONS, { version: next, name: 'a note and a rating on each asset', sql: 'ALTER TABLE assets ADD COLUMN note TEXT;\nALTER TABLE assets ADD COLUMN rating {int};' }]
    const dataDir = tempDir('jit-next-')
    const sqlite = new SqliteAsyncStore(new SqliteStore(dataDir, { migrations: withNote }))
    const url = server.createDatabase('next')
    const login = databaseLogin(url, { env: { JIT_DATABASE_PASSWORD: server.password } })
    const postgres = await PostgresStore.open(login, { migrations: withNote })
    try {
      for (const store of [sqlite, postgres] as Store[]) {
        await store.assets.upsert({ path: 'plant-a/line-3/plc-07', attributes: {} })
        expect(await store.execute('UPDATE assets SET note = ?, rating = ? WHERE path = ?', ['checked', 4, 'plant-a/line-3/plc-07'])).toBe(1)
        expect(await store.query('SELECT note, rating FROM assets')).toEqual([{ note: 'checked', rating: 4 }])
        // The domain's own reads are untouched by a column they do not know.
        expect(await store.assets.get('plant-a/line-3/plc-07')).toEqual({ path: 'plant-a/line-3/plc-07', attributes: {} })
      }
      expect(sqliteFile(dataDir, (db) => [sqliteTablesOf(db).get('assets')!.get('rating'), versionsOf(db).at(-1)])).toEqual(['INTEGER', next])
      expect((await tablesOf(await client('next'))).get('assets')!.get('rating')).toBe('bigint')
      expect(server.psql('SELECT max(version) FROM jit_schema_migrations', 'next')).toBe(String(next))
    } finally {
      await sqlite.close()
      await postgres.close()
    }
    // A jit that does not know the migration refuses both.
    expect(() => new SqliteStore(dataDir)).toThrow(DatabaseSchemaTooNewError)
    await expect(PostgresStore.open(login)).rejects.toThrow(DatabaseSchemaTooNewError)
    cleanup(dataDir)
  })
})

describe('a schema newer than this jit knows', () => {
  it('a SQLite data folder a newer jit migrated is refused and left untouched', () => {
    const dataDir = tempDir('jit-newer-')
    const future: Migration[] = [...MIGRATIONS, { version: LATEST_SCHEMA_VERSION + 1, name: 'from a newer jit', sql: 'CREATE TABLE from_the_future (id {int})' }]
    new SqliteStore(dataDir, { migrations: future }).close()
    const before = sqliteFile(dataDir, (db) => [...sqliteTablesOf(db).keys()].sort())
    let refused: unknown
    try {
      new SqliteStore(dataDir).close()
    } catch (error) {
      refused = error
    }
    expect(refused).toBeInstanceOf(DatabaseSchemaTooNewError)
    expect((refused as DatabaseSchemaTooNewError).exitCode).toBe(2)
    expect((refused as Error).message).toContain(`schema version ${LATEST_SCHEMA_VERSION + 1}`)
    expect(sqliteFile(dataDir, (db) => [...sqliteTablesOf(db).keys()].sort())).toEqual(before)
    expect(sqliteFile(dataDir, versionsOf).at(-1)).toBe(LATEST_SCHEMA_VERSION + 1)
    cleanup(dataDir)
  })
})

describe('databases made by every earlier jit migrate on open', () => {
  for (const era of UNNUMBERED_SQLITE_SCHEMAS) {
    it(`a SQLite data folder of ${era.commit} (${era.what}): adopted at version 1, migrated to the latest, its rows and audit chain intact`, async () => {
      const dataDir = tempDir('jit-old-')
      sqliteFile(dataDir, (db) => {
        db.exec(era.sql)
        db.exec("INSERT INTO users (name, roles, org, disabled, created_at) VALUES ('tess', '[\"technician\"]', NULL, 0, '2026-11-23T08:00:00Z')")
        db.exec("INSERT INTO sessions (id, request_id, user, device_id, asset, ticket, scope, kind, jti, issued_at, expires_at, cache_allowed, state) VALUES ('ses_old', 'req_old', 'tess', 'dev_old', 'plant-a/line-3/plc-07', 'WO-1', 'diagnose', 'standard', 'jti_old', 1, 4102444800, 1, 'active')")
      })
      const store = new SqliteAsyncStore(new SqliteStore(dataDir))
      try {
        expect(await store.users.get('tess')).toEqual({ name: 'tess', roles: ['technician'], org: undefined, disabled: false })
        expect(await store.sessions.get('ses_old')).toMatchObject({ state: 'active', heartbeatAtMs: undefined })
        expect(await store.sessions.recordHeartbeat('ses_old', 5)).toBe(true)
        await store.audit({ type: 'test.after-upgrade', actor: 'tess' })
        await store.audit({ type: 'test.after-upgrade', actor: 'tess' })
        expect(verifyChain(await store.auditLog.events())).toEqual({ ok: true, events: 2 })
      } finally {
        await store.close()
      }
      sqliteFile(dataDir, (db) => {
        expect(versionsOf(db)).toEqual(MIGRATIONS.map((m) => m.version))
        expect((db.prepare('SELECT name FROM jit_schema_migrations WHERE version = 1').get() as { name: string }).name).toMatch(/^adopted/)
        const tables = sqliteTablesOf(db)
        for (const [table, columns] of freshSqlite) expect([...(tables.get(table)?.keys() ?? [])].sort(), table).toEqual([...columns.keys()].sort())
      })
      // Opening again changes nothing.
      const again = new SqliteAsyncStore(new SqliteStore(dataDir))
      expect((await again.sessions.get('ses_old'))!.heartbeatAtMs).toBe(5)
      await again.close()
      expect(sqliteFile(dataDir, versionsOf)).toEqual(MIGRATIONS.map((m) => m.version))
      cleanup(dataDir)
    })
  }

  for (const version of MIGRATIONS.map((m) => m.version).slice(0, -1)) {
    it(`a PostgreSQL database at migration ${version} moves on to the latest, its rows intact`, async () => {
      const url = server.createDatabase(`at_${version}`)
      const c = await client(`at_${version}`)
      expect(await applyMigrations(c, MIGRATIONS.filter((m) => m.version <= version))).toMatchObject({ from: 0, to: version })
      await c.query("INSERT INTO users (name, roles, org, disabled, created_at) VALUES ('tess', '[\"technician\"]', NULL, 0, '2026-11-30T08:00:00Z')")
      const store = await PostgresStore.open(databaseLogin(url, { env: { JIT_DATABASE_PASSWORD: server.password } }))
      try {
        expect(await currentVersion(c)).toBe(LATEST_SCHEMA_VERSION)
        expect(await store.users.get('tess')).toEqual({ name: 'tess', roles: ['technician'], org: undefined, disabled: false })
        await store.audit({ type: 'test.after-upgrade', actor: 'tess' })
        expect(verifyChain(await store.auditLog.events())).toEqual({ ok: true, events: 1 })
        // Every durability barrier needs migration 2's table.
        await store.whenDurable()
      } finally {
        await store.close()
      }
      expect(server.psql('SELECT string_agg(version::text, \',\' ORDER BY version) FROM jit_schema_migrations', `at_${version}`)).toBe(MIGRATIONS.map((m) => m.version).join(','))
    })
  }
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
