// `jit admin migrate --to postgres://…`: an embedded broker's data folder (made by a real broker
// process and real CLI calls) moved into a real PostgreSQL, checked row for row; every refusal
// leaves the target without broker data and never shows the password.
import { cpSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { TABLES } from '../../src/broker/store/schema/migrations.js'
import { PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { startPostgres, type TestPostgres } from './postgres.js'
import { ON_POSTGRES } from './test-store.js'

/** Why the file is skipped on JIT_TEST_STORE=postgres: what it moves is the data folder's SQLite file. */
const FROM_SQLITE = 'SQLite-specific: moves a SQLite data folder into PostgreSQL'

let server: TestPostgres
let broker: TestBroker
let tess: string
const scratch = tempDir('jit-migrate-')

function sqliteRows(dataDir: string, sql: string): Record<string, unknown>[] {
  const db = new DatabaseSync(join(dataDir, 'broker.db'))
  try {
    return db.prepare(sql).all() as Record<string, unknown>[]
  } finally {
    db.close()
  }
}

function sqliteCounts(dataDir: string): Record<string, number> {
  const present = new Set(sqliteRows(dataDir, "SELECT name FROM sqlite_master WHERE type = 'table'").map((r) => r.name as string))
  return Object.fromEntries(TABLES.map(({ name }) => [name, present.has(name) ? Number(sqliteRows(dataDir, `SELECT count(*) AS n FROM "${name}"`)[0].n) : 0]))
}

function postgresCounts(database: string): Record<string, number> {
  return Object.fromEntries(TABLES.map(({ name }) => [name, Number(server.psql(`SELECT count(*) FROM "${name}"`, database))]))
}

const migrate = (args: string[], env: Record<string, string> = {}) => jit(['admin', 'migrate', '--json', ...args], { env: { JIT_DATABASE_PASSWORD: '', ...env } })

beforeAll(async () => {
  if (ON_POSTGRES) return
  server = await startPostgres()
  broker = await startBroker()
  tess = await broker.enroll('tess', ['technician'])
  await broker.addVerifier('gateway-line-3')
  const access = ['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'read', '--ttl', '10m', '--reason', 'moving day', '--json']
  const first = await jit(access, { home: tess })
  expect(first.code, first.stderr).toBe(0)
  expect((await jit(['revoke', first.json().session.id], { home: tess })).code).toBe(0)
  const second = await jit(access, { home: tess })
  expect(second.code, second.stderr).toBe(0)
  await broker.stop()
  // A signed checkpoint of the chain's head, made on demand, moves with the data.
  const verified = await jit(['audit', 'verify', '--data', broker.dataDir, '--json'])
  expect(verified.code, verified.stderr).toBe(0)
}, 90_000)

afterAll(async () => {
  await broker?.stop()
  await server?.stop()
  cleanup(scratch, ...(broker ? [broker.dataDir] : []), ...(tess ? [tess] : []))
})

describe('jit admin migrate --to postgres://…', () => {
  beforeEach(({ skip }) => skip(ON_POSTGRES, FROM_SQLITE))

  it('refuses a password in the URL without showing it, before touching the database', async () => {
    server.createDatabase('url_password')
    const result = await migrate(['--data', broker.dataDir, '--to', `postgres://jit:${server.password}@127.0.0.1:${server.port}/url_password`])
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/carries a password/)
    expect(result.stdout + result.stderr).not.toContain(server.password)
    expect(server.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", 'url_password')).toBe('0')
  })

  it('a wrong password is exit 9 and writes nothing', async () => {
    server.createDatabase('wrong_password')
    const result = await migrate(['--data', broker.dataDir, '--to', server.url('wrong_password')], { JIT_DATABASE_PASSWORD: 'definitely-wrong-pw' })
    expect(result.code).toBe(9)
    expect(result.json().error.code).toBe('database-auth')
    expect(result.stdout + result.stderr).not.toContain('definitely-wrong-pw')
    expect(server.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", 'wrong_password')).toBe('0')
  })

  it('copies every row, with the audit chain ending on the same head, the password read from a file', async () => {
    const url = server.createDatabase('moved')
    const passwordFile = join(scratch, 'db-password')
    writeFileSync(passwordFile, `${server.password}\n`, { mode: 0o600 })
    const result = await migrate(['--data', broker.dataDir, '--to', url, '--database-password-file', passwordFile])
    expect(result.code, result.stderr + result.stdout).toBe(0)
    const moved = result.json()
    const expected = sqliteCounts(broker.dataDir)
    expect(expected.sessions).toBe(2)
    expect(expected.audit).toBeGreaterThan(5)
    expect(moved.tables).toEqual(expected)
    expect(postgresCounts('moved')).toEqual(expected)
    expect(moved.to).toBe(url)
    expect(result.stdout + result.stderr).not.toContain(server.password)

    const sqliteAudit = sqliteRows(broker.dataDir, 'SELECT seq, hash, data FROM audit ORDER BY seq')
    expect(moved.audit).toEqual({ events: sqliteAudit.length, head: sqliteAudit.at(-1)!.hash })
    // Row for row: the audit records' stored bytes, and the sessions with every column.
    const pgAudit = server.psql("SELECT string_agg(seq || ' ' || hash || ' ' || data, E'\\n' ORDER BY seq) FROM audit", 'moved')
    expect(pgAudit).toBe(sqliteAudit.map((r) => `${r.seq} ${r.hash} ${r.data}`).join('\n'))
    const sessionColumns = 'id, state, jti, issued_at, expires_at, ended_by, end_reason, cache_allowed'
    const pgSessions = server.psql(`SELECT string_agg(concat_ws('|', ${sessionColumns}), E'\\n' ORDER BY id) FROM sessions`, 'moved')
    const sqliteSessions = sqliteRows(broker.dataDir, `SELECT ${sessionColumns} FROM sessions ORDER BY id`).map((r) => Object.values(r).filter((v) => v !== null).join('|'))
    expect(pgSessions).toBe(sqliteSessions.join('\n'))
    expect(expected.audit_checkpoints).toBeGreaterThan(0)
    const checkpoints = sqliteRows(broker.dataDir, 'SELECT seq, jws FROM audit_checkpoints ORDER BY seq').map((r) => `${r.seq} ${r.jws}`).join('\n')
    expect(server.psql("SELECT string_agg(seq || ' ' || jws, E'\\n' ORDER BY seq) FROM audit_checkpoints", 'moved')).toBe(checkpoints)
    // Identity columns continue after the copied rows.
    const endsMax = Number(server.psql('SELECT COALESCE(max(seq), 0) FROM session_ends', 'moved'))
    expect(endsMax).toBe(1) // the revoked session
    expect(Number(server.psql("SELECT last_value FROM pg_sequences WHERE sequencename LIKE 'session_ends%'", 'moved'))).toBe(endsMax)
  })

  it('refuses a database that already holds broker data, and changes nothing there', async () => {
    const before = postgresCounts('moved')
    const result = await migrate(['--data', broker.dataDir, '--to', server.url('moved')], { JIT_DATABASE_PASSWORD: server.password })
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/already holds broker data/)
    expect(postgresCounts('moved')).toEqual(before)
  })

  it('does not move an audit chain that does not verify (exit 10), and copies no row', async () => {
    const tampered = join(scratch, 'tampered')
    cpSync(broker.dataDir, tampered, { recursive: true })
    const db = new DatabaseSync(join(tampered, 'broker.db'))
    db.prepare('UPDATE audit SET data = ? WHERE seq = 2').run('{"edited":true}')
    db.close()
    const url = server.createDatabase('from_tampered')
    const result = await migrate(['--data', tampered, '--to', url], { JIT_DATABASE_PASSWORD: server.password })
    expect(result.code).toBe(10)
    expect(result.json().error.message).toMatch(/record 2: content does not match its hash.*Nothing was copied/)
    expect(Object.values(postgresCounts('from_tampered')).every((n) => n === 0)).toBe(true)
  })

  it('a folder without broker data is bad input', async () => {
    const result = await migrate(['--data', join(scratch, 'nothing-here'), '--to', server.url('moved')], { JIT_DATABASE_PASSWORD: server.password })
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/No broker data/)
  })
})
