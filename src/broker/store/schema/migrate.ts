// Applies the migration list (migrations.ts) the same way on both engines: one plan, written once
// as a generator of statements, and a driver per engine that runs them in one transaction no
// other jit process migrates beside (SQLite: BEGIN IMMEDIATE, the one writer; PostgreSQL: an
// advisory lock, so brokers starting at once apply each migration once). The SQLite driver is
// synchronous, as the SQLite store opens synchronously.
//
// A schema newer than this jit knows is refused and left untouched: an older broker must not
// write rows a newer one reads differently.
import type { DatabaseSync } from 'node:sqlite'
import type { ClientBase } from 'pg'
import { nowIso } from '../../../util/ids.js'
import { DatabaseSchemaTooNewError } from '../postgres/errors.js'
import { numberedPlaceholders } from '../postgres/placeholders.js'
import type { Row } from '../records.js'
import type { SqlValue } from '../sql.js'
import { MIGRATIONS, UNNUMBERED, statementsFor, type Engine, type Migration } from './migrations.js'

export interface SchemaChange {
  /** The version the database had (0: none). */
  from: number
  to: number
  applied: number[]
}

/** One step of the plan: a script of statements (no parameters), or one statement whose rows the plan reads. */
type Step = { script: string } | { sql: string; params?: SqlValue[] }

/** The catalogue, which each engine keeps its own way: the tables there are, a table's columns (`?`: its name). */
const CATALOGUE: Record<Engine, { tables: string; columns: string }> = {
  sqlite: {
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    columns: 'SELECT name FROM pragma_table_info(?)',
  },
  postgres: {
    tables: 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
    columns: 'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?',
  },
}

/** Any fixed number shared by every jit broker: the key of PostgreSQL's advisory lock around migrations. */
const MIGRATION_LOCK_KEY = 0x6a69_7401

function* plan(engine: Engine, migrations: readonly Migration[], where: string): Generator<Step, SchemaChange, Row[]> {
  const latest = migrations[migrations.length - 1].version
  yield { script: statementsFor('CREATE TABLE IF NOT EXISTS jit_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {timestamp} NOT NULL)', engine) }
  const from = Number((yield { sql: 'SELECT COALESCE(max(version), 0) AS version FROM jit_schema_migrations' })[0].version)
  if (from > latest) throw new DatabaseSchemaTooNewError(from, latest, where)
  let version = from
  const applied: number[] = []
  const record = (migration: { version: number; name: string }): Step => ({ sql: 'INSERT INTO jit_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', params: [migration.version, migration.name, nowIso()] })
  if (version === 0 && (yield { sql: CATALOGUE[engine].tables }).some((row) => row.name !== 'jit_schema_migrations')) {
    // Made before numbered migrations: adopt it at UNNUMBERED.version (see migrations.ts).
    for (const migration of migrations.filter((m) => m.version <= UNNUMBERED.version)) yield { script: statementsFor(migration.sql, engine) }
    for (const { table, column, sql } of UNNUMBERED.columns) {
      const columns = yield { sql: CATALOGUE[engine].columns, params: [table] }
      if (!columns.some((row) => row.name === column)) yield { script: statementsFor(sql, engine) }
    }
    yield record({ version: UNNUMBERED.version, name: 'adopted: a schema made before numbered migrations' })
    version = UNNUMBERED.version
  }
  for (const migration of migrations) {
    if (migration.version <= version) continue
    const statements = statementsFor(migration.sql, engine)
    if (statements.trim()) yield { script: statements }
    yield record(migration)
    applied.push(migration.version)
  }
  return { from, to: Math.max(from, latest), applied }
}

/** Brings a SQLite file's schema to the list's last version, in one IMMEDIATE transaction. */
export function migrateSqlite(db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS): SchemaChange {
  db.exec('BEGIN IMMEDIATE')
  try {
    const steps = plan('sqlite', migrations, 'The data folder\'s database')
    let rows: Row[] = []
    for (;;) {
      const next = steps.next(rows)
      if (next.done) {
        db.exec('COMMIT')
        return next.value
      }
      const step = next.value
      if ('script' in step) {
        db.exec(step.script)
        rows = []
      } else {
        rows = db.prepare(step.sql).all(...(step.params ?? [])) as Row[]
      }
    }
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK')
    throw error
  }
}

/**
 * Brings a PostgreSQL database's schema to the list's last version, in one transaction under the
 * migration lock. Safe to call from several brokers at once.
 */
export async function migratePostgres(client: ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<SchemaChange> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    const steps = plan('postgres', migrations, 'The database')
    let rows: Row[] = []
    for (;;) {
      const next = steps.next(rows)
      if (next.done) {
        await client.query('COMMIT')
        return next.value
      }
      const step = next.value
      if ('script' in step) {
        await client.query(step.script)
        rows = []
      } else {
        rows = (await client.query(numberedPlaceholders(step.sql), step.params ?? [])).rows as Row[]
      }
    }
  } catch (error) {
    await client.query('ROLLBACK')
    throw error
  }
}

/** The schema version a PostgreSQL database holds (0 when jit never ran on it). */
export async function postgresVersion(client: ClientBase): Promise<number> {
  const exists = await client.query("SELECT to_regclass('jit_schema_migrations') IS NOT NULL AS present")
  if (!exists.rows[0].present) return 0
  return Number((await client.query('SELECT COALESCE(max(version), 0) AS version FROM jit_schema_migrations')).rows[0].version)
}
