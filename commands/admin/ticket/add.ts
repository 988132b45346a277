import { namesStore } from '../../../src/broker/operator.js'
import { Args, Flags } from '@oclif/core'
import { registerDataFlag } from '../../../src/broker/tickets/flags.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminTicketAdd extends JitCommand {
  static reviewGate = false
  static summary = 'File a work order in the built-in ticket register: its asset (or line or cell) and whom it is assigned to.'
  static description = 'Used when the policy connects a ticket system to the built-in register (tickets.systems.NAME.connector: builtin). Requests for the ticket are refused unless it is open, names the asset or a line or cell above it, and is assigned to the requester (or, for vendors, their organisation).'
  static examples = [
    '<%= config.bin %> admin ticket add WO-104233 --asset plant-a/line-3/cell-2/plc-07 --assignee tess --title "Conveyor E42 jam timer" --data ./broker-data',
    '<%= config.bin %> admin ticket add WO-104250 --asset plant-a/line-3 --org acme-automation   (over the API, as an admin or maintenance-planner)',
  ]
  static args = { id: Args.string({ required: true, description: 'Ticket id, e.g. WO-104233' }) }
  static flags = {
    ...registerDataFlag,
    asset: Flags.string({ required: true, summary: 'The asset, or the line or cell the work is on.' }),
    assignee: Flags.string({ summary: 'The person the work is assigned to.', exactlyOne: ['assignee', 'org'] }),
    org: Flags.string({ summary: 'The vendor organisation the work is assigned to.', exactlyOne: ['assignee', 'org'] }),
    title: Flags.string({ summary: 'A short title.' }),
  }

  async run() {
    const { args, flags } = await this.parse(AdminTicketAdd)
    const body = { id: args.id, asset: flags.asset, assignee: flags.assignee, org: flags.org, title: flags.title }
    const ticket = namesStore(flags)
      ? await (await import('../../../src/broker/tickets/operator.js')).registerOnDataFolder.add(flags, body)
      : await (await import('../../../src/cli/tickets/register.js')).registerOverApi.add(this.cli(flags), body)
    if (!this.jsonEnabled()) {
      const [{ ui }, { describeTicket }] = await Promise.all([import('../../../src/cli/output.js'), import('../../../src/cli/tickets/register.js')])
      ui.ok(`Filed ${describeTicket(ticket)}.`)
    }
    return { ticket }
  }
}
