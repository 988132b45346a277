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
  constructor(readonly found: number, readonly known: number) {
    super(`The database has schema version ${found}; this jit knows versions up to ${known} and will not write to it.`, [
      'Upgrade jit on this host to the version the other brokers run.',
    ], { found, known })
  }
}
