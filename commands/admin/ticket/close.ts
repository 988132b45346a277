import { namesStore } from '../../../src/broker/operator.js'
import { Args, Flags } from '@oclif/core'
import { registerDataFlag } from '../../../src/broker/tickets/flags.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminTicketClose extends JitCommand {
  static reviewGate = false
  static summary = 'Close a work order in the built-in register; every session opened for it ends.'
  static description = 'Over the API the sessions end at once; with --data the running broker ends them within a second.'
  static examples = ['<%= config.bin %> admin ticket close WO-104233 --reason "work done" --data ./broker-data', '<%= config.bin %> admin ticket close WO-104233']
  static args = { id: Args.string({ required: true, description: 'Ticket id' }) }
  static flags = { ...registerDataFlag, reason: Flags.string({ summary: 'Why (kept in the audit log).' }) }

  async run() {
    const { args, flags } = await this.parse(AdminTicketClose)
    const result = namesStore(flags)
      ? await (await import('../../../src/broker/tickets/operator.js')).registerOnDataFolder.setState(flags, args.id, 'closed', flags.reason)
      : await (await import('../../../src/cli/tickets/register.js')).registerOverApi.setState(this.cli(flags), args.id, 'closed', flags.reason)
    if (!this.jsonEnabled()) {
      const [{ ui }, { describeTicket }] = await Promise.all([import('../../../src/cli/output.js'), import('../../../src/cli/tickets/register.js')])
      ui.ok(`${describeTicket(result.ticket)}.`)
      if (result.endedSessions.length > 0) ui.info(`Ended ${result.endedSessions.length} session(s): ${result.endedSessions.join(', ')}.`)
      else if (namesStore(flags)) ui.info('Sessions opened for it end on the running brokers within a second.')
    }
    return result
  }
}
