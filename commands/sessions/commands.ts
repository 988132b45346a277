import { Args } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import type { SessionCommands } from '../../src/wire/gateway.js'

export default class SessionsCommands extends JitCommand {
  static summary = 'Print the decoded command log of a session on a protocol-aware asset (Modbus/TCP): every write with the asset\'s answer, every request the gateway refused.'
  static description = 'Its holder, the approvers of its request, the owner group of its asset, security and admin may read it. Each connection\'s log is hash-chained into the audit trail (the sha256 of its gateway.connection record).'
  static examples = ['<%= config.bin %> sessions commands ses_4f...', '<%= config.bin %> sessions commands ses_4f... --json']
  static args = { id: Args.string({ required: true, description: 'Session id' }) }

  async run(): Promise<SessionCommands> {
    const { args, flags } = await this.parse(SessionsCommands)
    const result = await (await this.cli(flags).client()).get<SessionCommands>(`/sessions/${encodeURIComponent(args.id)}/commands`)
    if (!this.jsonEnabled()) {
      const { printCommandLog } = await import('../../src/cli/sessions/command-log.js')
      printCommandLog(result, (line) => this.log(line))
    }
    return result
  }
}
