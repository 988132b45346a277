// Moves an embedded broker's data (its SQLite file) into an empty PostgreSQL database: the
// schema is migrated first, then every table is copied row for row in one PostgreSQL
// transaction, read from one SQLite snapshot. Before committing, the copy is checked: the same
// number of rows in every table, and the audit chain verified again from the rows now in
// PostgreSQL, ending on the same head. Anything wrong rolls the whole copy back.
//
// The broker should be stopped while this runs: what it writes after the snapshot stays behind.
// The data folder's key files (signing key, SSH CA key) are not in the database; each broker on
// the shared database needs copies of them (see docs/SEVERAL-BROKERS.md).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { ClientBase } from 'pg'
import { CHAIN_PROBLEMS, GENESIS_HASH, hashEventWithData } from '../../../audit/chain.js'
import { AuditChainBrokenError, JitError, UsageError } from '../../../errors.js'
import { connect, databaseLogin, describeTarget } from './connection.js'
import { migratePostgres, type SchemaChange } from '../schema/migrate.js'
import { TABLES } from '../schema/migrations.js'

export interface ImportResult {
  schema: SchemaChange
  /** Rows copied, by table. */
  tables: Record<string, number>
  audit: { events: number; head: string }
}

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters for the widest table (18 columns). */
const BATCH_ROWS = 500

type Row = Record<string, unknown>

export async function importSqlite(dataDir: string, client: ClientBase): Promise<ImportResult> {
  const file = join(dataDir, 'broker.db')
  if (!existsSync(file)) throw new UsageError(`No broker data in ${dataDir}.`)
  const source = new DatabaseSync(file)
  try {
    source.exec('BEGIN') // one snapshot for every table
    const tables = sourceTables(source)
    const schema = await migratePostgres(client)
    await client.query('BEGIN')
    try {
      await refuseUnknown(source, tables, client)
      await refuseNonEmpty(client)
      const counts: Record<string, number> = {}
      for (const { name, identity } of TABLES) {
        counts[name] = tables.has(name) ? await copyTable(source, name, client) : 0
        if (identity && counts[name] > 0) {
          await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), (SELECT max(${quote(identity)}) FROM ${quote(name)}))`, [name, identity])
        }
      }
      const audit = await verifyCopiedChain(client, tables.has('audit') ? source : undefined)
      await client.query('COMMIT')
      return { schema, tables: counts, audit }
    } catch (error) {
      await client.query('ROLLBACK')
      throw error
    }
  } finally {
    if (source.isTransaction) source.exec('ROLLBACK')
    source.close()
  }
}

function sourceTables(source: DatabaseSync): Set<string> {
  // The file's own migration record stays behind: PostgreSQL keeps its own.
  const rows = source.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'jit_schema_migrations'").all() as Row[]
  return new Set(rows.map((row) => row.name as string))
}

/** A table or column that PostgreSQL has no place for would be lost: refuse before copying anything. */
async function refuseUnknown(source: DatabaseSync, tables: Set<string>, client: ClientBase): Promise<void> {
  const known = new Set(TABLES.map((t) => t.name))
  const strangers = [...tables].filter((name) => !known.has(name))
  if (strangers.length > 0) {
    throw new JitError(`The data folder has table(s) this jit cannot move to PostgreSQL: ${strangers.join(', ')}. Nothing was copied.`, [
      'Run the migration with the jit version the broker runs (a newer broker may have added them).',
    ])
  }
  for (const name of tables) {
    const target = new Set((await client.query('SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [name])).rows.map((r) => r.column_name as string))
    const missing = sourceColumns(source, name).filter((column) => !target.has(column))
    if (missing.length > 0) {
      throw new JitError(`Table ${name} has column(s) PostgreSQL's schema lacks: ${missing.join(', ')}. Nothing was copied.`, [
        'Run the migration with the jit version the broker runs.',
      ])
    }
  }
}

async function refuseNonEmpty(client: ClientBase): Promise<void> {
  for (const { name } of TABLES) {
    const result = await client.query(`SELECT EXISTS (SELECT 1 FROM ${quote(name)}) AS taken`)
    if (result.rows[0].taken) {
      throw new UsageError(`The target database already holds broker data (table ${name} has rows); nothing was copied.`, [
        'Move an embedded broker only into an empty database.',
      ])
    }
  }
}

function sourceColumns(source: DatabaseSync, table: string): string[] {
  return (source.prepare(`PRAGMA table_info(${quote(table)})`).all() as Row[]).map((row) => row.name as string)
}

async function copyTable(source: DatabaseSync, table: string, client: ClientBase): Promise<number> {
  const columns = sourceColumns(source, table)
  const insertHead = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES `
  let copied = 0
  let batch: unknown[][] = []
  const flush = async () => {
    if (batch.length === 0) return
    const values: unknown[] = []
    const tuples = batch.map((row) => `(${row.map((value) => {
      values.push(value)
      return `$${values.length}`
    }).join(', ')})`)
    await client.query(insertHead + tuples.join(', '), values)
    copied += batch.length
    batch = []
  }
  // The primary key's order: audit records go in by seq, so a reader sees the chain in order.
  for (const row of source.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} ORDER BY rowid`).iterate() as Iterable<Row>) {
    batch.push(columns.map((column) => sqlValue(row[column])))
    if (batch.length >= BATCH_ROWS) await flush()
  }
  await flush()
  return copied
}

function sqlValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value)
  if (typeof value === 'bigint') return value.toString()
  return value
}

/**
 * Walks the chain as PostgreSQL now holds it and checks that it ends where SQLite's did. A source
 * chain that does not verify is not moved: the operator must see that first (jit audit verify).
 */
async function verifyCopiedChain(client: ClientBase, source: DatabaseSync | undefined): Promise<ImportResult['audit']> {
  const sourceHead = source?.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined
  let prevHash = GENESIS_HASH
  let expectedSeq = 1
  const chunk = 10_000
  for (;;) {
    const { rows } = await client.query('SELECT * FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2', [expectedSeq, chunk])
    for (const row of rows) {
      const seq = Number(row.seq)
      const body = { seq, at: row.at, type: row.type, severity: row.severity, actor: row.actor, sessionId: row.session_id ?? undefined, requestId: row.request_id ?? undefined }
      const problem = seq !== expectedSeq ? CHAIN_PROBLEMS.seq(expectedSeq) : row.prev_hash !== prevHash ? CHAIN_PROBLEMS.link : hashEventWithData(prevHash, body, row.data) !== row.hash ? CHAIN_PROBLEMS.hash : undefined
      if (problem) {
        throw new AuditChainBrokenError(`The audit chain does not verify at record ${seq}: ${problem}. Nothing was copied.`, ['Run jit audit verify on the data folder and settle that first.'])
      }
      prevHash = row.hash
      expectedSeq++
    }
    if (rows.length < chunk) break
  }
  const events = expectedSeq - 1
  if (events !== Number(sourceHead?.seq ?? 0) || prevHash !== (sourceHead?.hash ?? GENESIS_HASH)) {
    throw new AuditChainBrokenError('The copied audit chain does not end where the data folder\'s does. Nothing was copied.')
  }
  const high = Number((await client.query('SELECT COALESCE(max(seq), 0) AS seq FROM audit_high_water')).rows[0].seq)
  if (high > events) {
    throw new AuditChainBrokenError(`The audit log ends at record ${events} but record ${high} was written: the newest records were deleted. Nothing was copied.`, ['Run jit audit verify on the data folder and settle that first.'])
  }
  return { events, head: prevHash }
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`
}

export interface MoveResult extends ImportResult {
  from: string
  /** The database, named without its password. */
  to: string
}

/** `jit admin migrate --to`: logs in (password from the file or the environment), imports, disconnects. */
export async function moveToPostgres(dataDir: string, url: string, options: { passwordFile?: string } = {}): Promise<MoveResult> {
  const login = databaseLogin(url, options)
  const client = await connect(login)
  try {
    return { from: dataDir, to: describeTarget(login.target), ...(await importSqlite(dataDir, client)) }
  } finally {
    await client.end().catch(() => {})
  }
}
