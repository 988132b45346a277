import { namesStore } from '../../../src/broker/operator.js'
import { Flags } from '@oclif/core'
import { registerDataFlag } from '../../../src/broker/tickets/flags.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminTicketList extends JitCommand {
  static reviewGate = false
  static summary = 'List the work orders of the built-in ticket register.'
  static examples = ['<%= config.bin %> admin ticket list --data ./broker-data', '<%= config.bin %> admin ticket list --state open --json']
  static flags = { ...registerDataFlag, state: Flags.string({ options: ['open', 'closed'], summary: 'Only tickets in this state.' }) }

  async run() {
    const { flags } = await this.parse(AdminTicketList)
    const state = flags.state as 'open' | 'closed' | undefined
    const tickets = namesStore(flags)
      ? await (await import('../../../src/broker/tickets/operator.js')).registerOnDataFolder.list(flags, state)
      : await (await import('../../../src/cli/tickets/register.js')).registerOverApi.list(this.cli(flags), state)
    if (!this.jsonEnabled()) {
      const [{ table }, { ticketRow }] = await Promise.all([import('../../../src/cli/output.js'), import('../../../src/cli/tickets/register.js')])
      this.log(await table(['ticket', 'state', 'asset', 'assigned to', 'title'], tickets.map(ticketRow)))
    }
    return { tickets }
  }
}
