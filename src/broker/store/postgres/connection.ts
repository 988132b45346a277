// Where the PostgreSQL database is and how to log in to it. The URL names host, port, user and
// database; the password never rides in it (a URL given as a flag shows in `ps` and in shell
// history): it comes from a file (--database-password-file) or from JIT_DATABASE_PASSWORD.
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { UsageError } from '../../../errors.js'
import { DatabaseAuthError, DatabaseUnreachableError } from './errors.js'

export const PASSWORD_ENV = 'JIT_DATABASE_PASSWORD'

export interface DatabaseTarget {
  host: string
  port: number
  user: string
  database: string
  /** Verify the server's certificate (sslmode=verify-full), optionally against this CA file. */
  tls?: { caFile?: string }
}

export interface DatabaseLogin {
  target: DatabaseTarget
  password?: string
}

const CONNECT_TIMEOUT_MS = 10_000

/** Query options of a libpq URL that carry a secret. */
const PASSWORD_OPTIONS = new Set(['password', 'sslpassword'])

/** libpq's SSL modes: words, not secrets, so a message may repeat them. */
const SSL_MODES = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'])

/**
 * An option as messages name it: by its name when that is a plain word, with its value only when
 * that is an SSL mode (any other text may be a secret).
 */
function optionName(key: string, value: string): string {
  if (key === 'sslmode' && SSL_MODES.has(value)) return `option sslmode=${value}`
  return /^[a-z_]{1,40}$/i.test(key) ? `option ${key}` : 'option given'
}

/** A password in the URL (after the user, or as the option `option`), named but never repeated. */
function passwordInUrl(option?: string): UsageError {
  return new UsageError(`The database URL carries a password${option ? ` (its ${option} option)` : ''}; it would show in the process list.`, [
    `Remove it from the URL and put it in ${PASSWORD_ENV} or a file named by --database-password-file.`,
  ])
}

/** Parses a postgres:// URL; refuses one that carries a password or options this jit does not apply. */
export function parseDatabaseUrl(text: string): DatabaseTarget {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError('The database is not a URL; give it as postgres://USER@HOST:PORT/DATABASE.')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError(`The database URL must start with postgres:// (not ${url.protocol}//).`)
  }
  if (url.password) throw passwordInUrl()
  const user = decodeURIComponent(url.username)
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (!url.hostname || !user || !database) throw new UsageError('The database URL needs a user, a host and a database: postgres://USER@HOST:PORT/DATABASE.')
  let tls: DatabaseTarget['tls']
  for (const [key, value] of url.searchParams) {
    if (key === 'sslmode' && value === 'verify-full') tls = { ...tls }
    else if (key === 'sslmode' && value === 'disable') continue
    else if (key === 'sslrootcert') tls = { ...tls, caFile: value }
    else if (PASSWORD_OPTIONS.has(key.toLowerCase())) throw passwordInUrl(key)
    else throw new UsageError(`The database URL ${optionName(key, value)} is not one jit applies; use sslmode=verify-full (with sslrootcert=FILE) or sslmode=disable.`)
  }
  if (tls?.caFile !== undefined && url.searchParams.get('sslmode') !== 'verify-full') {
    throw new UsageError('sslrootcert needs sslmode=verify-full in the database URL.')
  }
  return {
    host: decodeURIComponent(url.hostname).replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 5432,
    user,
    database,
    ...(tls ? { tls } : {}),
  }
}

/** The database URL and its password, from the password file when given, else from the environment. */
export function databaseLogin(urlText: string, options: { passwordFile?: string; env?: NodeJS.ProcessEnv } = {}): DatabaseLogin {
  const target = parseDatabaseUrl(urlText)
  if (options.passwordFile !== undefined) return { target, password: readPasswordFile(options.passwordFile) }
  const fromEnv = (options.env ?? process.env)[PASSWORD_ENV]
  return { target, ...(fromEnv ? { password: fromEnv } : {}) }
}

function readPasswordFile(file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(`Cannot read the database password file ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}).`)
  }
  const password = text.replace(/\r?\n$/, '')
  if (!password) throw new UsageError(`The database password file ${file} is empty.`)
  return password
}

/** How the database is named in messages and results: never with a password. */
export function describeTarget(target: DatabaseTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host
  return `postgres://${encodeURIComponent(target.user)}@${host}:${target.port}/${encodeURIComponent(target.database)}`
}

export function clientConfig(login: DatabaseLogin): pg.ClientConfig {
  const { target } = login
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    ...(login.password !== undefined ? { password: login.password } : {}),
    ...(target.tls ? { ssl: { rejectUnauthorized: true, ...(target.tls.caFile ? { ca: readFileSync(target.tls.caFile, 'utf8') } : {}) } } : {}),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'jit',
    types: { getTypeParser: integersAsNumbers },
  }
}

const BIGINT_OID = 20

/**
 * BIGINT columns read back as numbers, as SQLite's integers do: they hold epoch seconds and
 * milliseconds, sequence numbers and counters, all far below 2^53.
 */
function integersAsNumbers(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === BIGINT_OID && format !== 'binary') return Number
  return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown
}

/** A connected client; a failure says what went wrong in jit's words, with the right exit code. */
export async function connect(login: DatabaseLogin): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(login))
  // An idle connection the server drops emits 'error'; unhandled, that would crash the process.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw connectionFailure(login.target, error as Error & { code?: string })
  }
  return client
}

/** A pooled client checked out for a transaction or a snapshot, and how to give it back. */
export interface CheckedOut {
  client: pg.PoolClient
  /** Back to the pool, or dropped when `broken` or when its connection failed while out. */
  release(broken?: boolean): void
}

/**
 * Checks a client out of the pool for several statements. The pool listens for errors only on
 * its idle clients: a checked-out client whose connection fails (the database stopped or was
 * killed mid-transaction) emits 'error' with nobody listening, an uncaught exception that ends
 * the broker. Here the error is heard while the client is out; its statements fail on their own
 * (the database is away), and the client is dropped, never reused.
 */
export async function checkOut(pool: pg.Pool): Promise<CheckedOut> {
  const client = await pool.connect()
  let lost = false
  const onError = () => void (lost = true)
  client.on('error', onError)
  return {
    client,
    release(broken = false) {
      client.removeListener('error', onError)
      client.release(broken || lost)
    },
  }
}

/** SQLSTATE classes 28 (invalid authorization) and 3D000 (no such database) are the login's fault. */
function connectionFailure(target: DatabaseTarget, error: Error & { code?: string }): Error {
  const where = describeTarget(target)
  if (error.code === '28P01' || error.code === '28000') {
    return new DatabaseAuthError(`The database ${where} refused the login of ${target.user}.`, [`Check the password (${PASSWORD_ENV} or --database-password-file) and the server's pg_hba.conf.`])
  }
  if (error.code === '3D000') return new UsageError(`The database ${where} does not exist.`, ['Create it first (createdb), owned by the broker\'s user.'])
  const why = error.code && /^[A-Z0-9_]+$/.test(error.code) ? error.code : 'no connection'
  return new DatabaseUnreachableError(`Cannot reach the database ${where} (${why}).`, ['Check that PostgreSQL runs there and that this host may connect to it.'])
}
