import { namesStore } from '../../../src/broker/operator.js'
import { Args, Flags } from '@oclif/core'
import { registerDataFlag } from '../../../src/broker/tickets/flags.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminTicketReopen extends JitCommand {
  static reviewGate = false
  static summary = 'Reopen a closed work order in the built-in register. It opens nothing by itself: ask for access again.'
  static description = 'Sessions that ended when the ticket closed stay ended.'
  static examples = ['<%= config.bin %> admin ticket reopen WO-104233 --reason "work done" --data ./broker-data', '<%= config.bin %> admin ticket reopen WO-104233']
  static args = { id: Args.string({ required: true, description: 'Ticket id' }) }
  static flags = { ...registerDataFlag, reason: Flags.string({ summary: 'Why (kept in the audit log).' }) }

  async run() {
    const { args, flags } = await this.parse(AdminTicketReopen)
    const result = namesStore(flags)
      ? await (await import('../../../src/broker/tickets/operator.js')).registerOnDataFolder.setState(flags, args.id, 'open', flags.reason)
      : await (await import('../../../src/cli/tickets/register.js')).registerOverApi.setState(this.cli(flags), args.id, 'open', flags.reason)
    if (!this.jsonEnabled()) {
      const [{ ui }, { describeTicket }] = await Promise.all([import('../../../src/cli/output.js'), import('../../../src/cli/tickets/register.js')])
      ui.ok(`${describeTicket(result.ticket)}.`)
      ui.info('Nothing was reopened with it: ask for access again (jit request).')
    }
    return result
  }
}
