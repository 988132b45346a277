import { deliverDocument } from '../../src/cli/output.js'
import { Args, Flags } from '@oclif/core'
import { databaseFlags } from '../../src/broker/operator.js'
import { JitCommand } from '../../src/cli/base-command.js'
import { UsageError } from '../../src/errors.js'

export default class ReportSession extends JitCommand {
  static reviewGate = false
  static summary = 'Gather the evidence of one session (or, with --ticket, one work order) as one file a third party verifies with jit audit verify --file.'
  static description = 'The request, approvals, policy rule and version, ticket, credential issue and each use, commands, how access ended at each layer and the review, with the audit records they come from and the chain segment and signed checkpoint that cover them (docs/EVIDENCE.md). Through the broker (admin or security), or with --data on the broker host.'
  static examples = ['<%= config.bin %> report session ses_4f... --output evidence.jsonl', '<%= config.bin %> report session --ticket WO-4711 --data /var/lib/jit --output wo-4711.jsonl']
  static args = { id: Args.string({ description: 'The session.' }) }
  static flags = {
    ticket: Flags.string({ summary: 'Every session of this work order instead of one session.' }),
    output: Flags.string({ summary: 'Write to this file (0600; it must not exist yet) instead of stdout.' }),
    data: Flags.string({ env: 'JIT_DATA', summary: 'Read this broker data folder directly (on the broker host); it holds the key that signs the file.' }),
    ...databaseFlags,
  }

  async run(): Promise<{ session?: string; ticket?: string; output?: string; bytes: number }> {
    const { args, flags } = await this.parse(ReportSession)
    if ((args.id === undefined) === (flags.ticket === undefined)) throw new UsageError('Name one session (jit report session ID) or one work order (--ticket T).')
    if (flags.database && !flags.data) throw new UsageError('--database needs --data: the folder of the broker\'s signing key, which signs the file.')
    const subject: Record<string, string> = args.id !== undefined ? { session: args.id } : { ticket: flags.ticket! }
    let text: string
    if (flags.data) {
      const { evidenceFromData } = await import('../../src/broker/reports/report-data.js')
      text = await evidenceFromData({ dataDir: flags.data, database: flags.database, passwordFile: flags['database-password-file'] }, subject)
    } else {
      text = await (await this.cli(flags).client()).getText(`/reports/session?${new URLSearchParams(subject)}`)
    }
    deliverDocument(flags.output, text, this.jsonEnabled())
    return { ...subject, output: flags.output, bytes: Buffer.byteLength(text) }
  }
}
