import { Flags } from '@oclif/core'
import { dataFlag } from '../../src/broker/operator.js'
import { JitCommand } from '../../src/cli/base-command.js'

export default class AdminMigrate extends JitCommand {
  static reviewGate = false
  static summary = 'Move an embedded broker\'s data (its SQLite file) into an empty PostgreSQL database.'
  static description = 'Stop the broker first. The password comes from --database-password-file or JIT_DATABASE_PASSWORD, never from the URL. Every table is copied in one transaction and the audit chain is verified in PostgreSQL before it commits; on any problem nothing is written.'
  static examples = [
    'JIT_DATABASE_PASSWORD=... <%= config.bin %> admin migrate --data ./broker-data --to postgres://jit@db.plant.example:5432/jit',
    '<%= config.bin %> admin migrate --data ./broker-data --to postgres://jit@db:5432/jit --database-password-file /etc/jit/db-password --json',
  ]

  static flags = {
    ...dataFlag,
    to: Flags.string({ required: true, summary: 'The PostgreSQL database: postgres://USER@HOST:PORT/DATABASE (no password in it).' }),
    'database-password-file': Flags.string({ env: 'JIT_DATABASE_PASSWORD_FILE', summary: 'File holding the database password (else JIT_DATABASE_PASSWORD).' }),
  }

  async run() {
    const { flags } = await this.parse(AdminMigrate)
    const { moveToPostgres } = await import('../../src/broker/store/postgres/import-sqlite.js')
    const result = await moveToPostgres(flags.data, flags.to, { passwordFile: flags['database-password-file'] })
    if (!this.jsonEnabled()) {
      const rows = Object.values(result.tables).reduce((sum, n) => sum + n, 0)
      ;(await import('../../src/cli/output.js')).ui.info(
        `Moved ${rows} rows from ${result.from} to ${result.to} (schema version ${result.schema.to}); the audit chain verifies there: ${result.audit.events} records, head ${result.audit.head.slice(0, 16)}….`,
      )
    }
    return result
  }
}
