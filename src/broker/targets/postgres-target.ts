// A PostgreSQL target: the admin connection and the three things jit does there. Make a login
// role for a session (a random password sent as a SCRAM verifier, so the password itself never
// reaches the server, its statement log or pg_stat_activity; VALID UNTIL the session's end; only
// the roles its scope maps to), remove one (no new logins, its connections terminated, what it
// owns dropped, the role dropped: any failure is an error, never silence), and list the roles jit
// made (for the reconcile duty).
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import type { SecretRef, TargetSpec } from '../../policy/target.js'
import { clientConfig, parseDatabaseUrl } from '../store/postgres/connection.js'

/** Every role jit makes starts with this; nothing else of the target's is ever touched. */
export const ACCOUNT_PREFIX = 'jit_'
const CONNECT_TIMEOUT_MS = 5000
const STATEMENT_TIMEOUT_MS = 10_000

/** The account name of a session: its id (always quoted: ids mix cases and dashes). */
export function accountName(sessionId: string): string {
  return `${ACCOUNT_PREFIX}${sessionId}`
}

/** Reads the named admin password at the moment of use (a rotated file is picked up). */
function adminPassword(ref: SecretRef): string {
  if ('env' in ref) {
    const value = process.env[ref.env]
    if (!value) throw new Error(`the target's admin password variable ${ref.env} is not set in the broker's environment`)
    return value
  }
  try {
    return readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '')
  } catch (error) {
    throw new Error(`the target's admin password file ${ref.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/** Longest any one admin call may take: a target that hangs must not hold the duty forever. */
const CALL_TIMEOUT_MS = 20_000

async function withAdmin<T>(spec: TargetSpec, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  // The store's URL rules and client settings (TLS, no password in the URL) serve the target too.
  const config = clientConfig({ target: parseDatabaseUrl(spec.url), password: adminPassword(spec.password) })
  const client = new pg.Client({ ...config, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, statement_timeout: STATEMENT_TIMEOUT_MS, application_name: 'jit-broker' })
  // A connection that drops later reports here; the awaited call fails on its own.
  client.on('error', () => {})
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`the target did not answer within ${CALL_TIMEOUT_MS / 1000}s`)), CALL_TIMEOUT_MS)
  })
  const call = (async () => {
    await client.connect()
    return fn(client)
  })()
  try {
    return await Promise.race([call, timeout])
  } finally {
    clearTimeout(timer)
    await client.end().catch(() => {})
  }
}

/** PostgreSQL's SCRAM-SHA-256 verifier of a password (RFC 5802, RFC 7677), as CREATE ROLE takes it. */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256')
  const clientKey = createHmac('sha256', salted).update('Client Key').digest()
  const storedKey = createHash('sha256').update(clientKey).digest()
  const serverKey = createHmac('sha256', salted).update('Server Key').digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}

export interface MadeAccount {
  /** What a client needs to log in, as libpq's variables. Memory only. */
  env: Record<string, string>
}

/** Makes the session's role; one transaction on the target, so a failure leaves no role behind. */
export async function makeAccount(spec: TargetSpec, account: string, roles: readonly string[], validUntil: string): Promise<MadeAccount> {
  const password = randomBytes(24).toString('base64url')
  const id = pg.escapeIdentifier(account)
  await withAdmin(spec, async (client) => {
    await client.query('BEGIN')
    try {
      await client.query(`CREATE ROLE ${id} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD ${pg.escapeLiteral(scramVerifier(password))} VALID UNTIL ${pg.escapeLiteral(validUntil)}`)
      for (const role of roles) await client.query(`GRANT ${pg.escapeIdentifier(role)} TO ${id}`)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    }
  })
  const { host, port, database } = parseDatabaseUrl(spec.url)
  return { env: { PGHOST: host, PGPORT: String(port), PGDATABASE: database, PGUSER: account, PGPASSWORD: password } }
}

/** Moves the role's expiry (a renewal). */
export async function extendAccount(spec: TargetSpec, account: string, validUntil: string): Promise<void> {
  await withAdmin(spec, (client) => client.query(`ALTER ROLE ${pg.escapeIdentifier(account)} VALID UNTIL ${pg.escapeLiteral(validUntil)}`))
}

/**
 * Removes the role and its connections. No new logins first, so none slips in between; then
 * every connection of it is terminated, what it owns in the admin database is dropped, and the
 * role dropped. A role that is not there is already removed. Anything it still owns elsewhere
 * makes DROP ROLE fail: the error says so and the removal is tried again.
 */
export async function removeAccount(spec: TargetSpec, account: string): Promise<void> {
  if (!account.startsWith(ACCOUNT_PREFIX)) throw new Error(`refusing to remove ${account}: not an account jit made`)
  const id = pg.escapeIdentifier(account)
  await withAdmin(spec, async (client) => {
    const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [account])).rowCount
    if (!exists) return
    await client.query(`ALTER ROLE ${id} NOLOGIN`)
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [account])
    await client.query(`DROP OWNED BY ${id}`)
    await client.query(`DROP ROLE ${id}`)
  })
}

/** The roles jit made on this target (by their prefix). */
export async function listAccounts(spec: TargetSpec): Promise<string[]> {
  return withAdmin(spec, async (client) => (await client.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [ACCOUNT_PREFIX])).rows.map((r) => r.rolname))
}
