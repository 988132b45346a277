import { deliverDocument } from '../../src/cli/output.js'
import { Flags } from '@oclif/core'
import { databaseFlags } from '../../src/broker/operator.js'
import { JitCommand } from '../../src/cli/base-command.js'
import { UsageError } from '../../src/errors.js'

export default class AuditExport extends JitCommand {
  static reviewGate = false
  static summary = 'Export the whole audit log for a SIEM, with the broker\'s signed checkpoints, as JSON lines or CSV.'
  static description = 'Through the broker (admin or security), or with --data from a broker data folder (with --database, from that PostgreSQL database; --data still names the broker\'s key). A JSON-lines copy verifies on its own: jit audit verify --file FILE.'
  static examples = ['<%= config.bin %> audit export --format jsonl --output audit.jsonl', '<%= config.bin %> audit export --format csv --data /var/lib/jit > audit.csv']
  static flags = {
    format: Flags.string({ options: ['jsonl', 'csv'], required: true, summary: 'jsonl (one JSON document per line) or csv.' }),
    output: Flags.string({ summary: 'Write to this file (0600) instead of stdout.' }),
    data: Flags.string({ env: 'JIT_DATA', summary: 'Export this broker data folder directly.' }),
    ...databaseFlags,
  }

  async run(): Promise<{ format: string; output?: string; bytes: number }> {
    const { flags } = await this.parse(AuditExport)
    const format = flags.format as 'jsonl' | 'csv'
    if (flags.database && !flags.data) throw new UsageError('--database needs --data: the folder of the broker\'s signing key, named in the export.')
    const chunks: string[] = []
    if (flags.data) {
      const { exportDataFolder } = await import('../../src/broker/audit-export.js')
      await exportDataFolder({ dataDir: flags.data, database: flags.database, passwordFile: flags['database-password-file'] }, format, (chunk) => chunks.push(chunk))
    } else {
      chunks.push(await (await this.cli(flags).client()).getText(`/audit/export?format=${format}`))
    }
    const text = chunks.join('')
    deliverDocument(flags.output, text, this.jsonEnabled())
    return { format, output: flags.output, bytes: Buffer.byteLength(text) }
  }
}
