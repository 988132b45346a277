// The ways talking to the PostgreSQL database can fail, each with its exit code. Messages name
// the database by host, port and name only: never its password, never the driver's raw text
// (which can quote the connection string).
import { ExitCode, JitError } from '../../../errors.js'

export class DatabaseUnreachableError extends JitError {
  readonly exitCode = ExitCode.unreachable
  readonly code = 'database-unreachable'
}

export class DatabaseAuthError extends JitError {
  readonly exitCode = ExitCode.auth
  readonly code = 'database-auth'
}

/** The database was migrated by a newer jit: this one must not write to it. */
export class DatabaseSchemaTooNewError extends JitError {
  readonly exitCode = ExitCode.usage
  readonly code = 'database-schema-newer'
  constructor(readonly found: number, readonly known: number, what = 'The database') {
    super(`${what} has schema version ${found}; this jit knows versions up to ${known} and will not write to it.`, [
      'Upgrade jit on this host to the version the other brokers run.',
    ], { found, known })
  }
}

/** Connection-level failures (PostgreSQL's class 08 and 57P0x, the socket's own): the database is away, not the call at fault. */
const AWAY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', '57P01', '57P02', '57P03'])

/** Whether a store call failed because its database does not answer (as opposed to a bug or bad data). */
export function isDatabaseAway(error: unknown): boolean {
  if (error instanceof DatabaseUnreachableError) return true
  const e = error as { code?: unknown; message?: unknown }
  if (typeof e?.code === 'string' && (AWAY_CODES.has(e.code) || e.code.startsWith('08'))) return true
  // The last: a statement sent on a client whose connection already failed between two statements.
  return typeof e?.message === 'string' && /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error and is not queryable/.test(e.message)
}
