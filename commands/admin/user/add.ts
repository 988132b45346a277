import { Args, Flags } from '@oclif/core'
import { storeFlags, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminUserAdd extends JitCommand {
  static reviewGate = false
  static summary = 'Add a user, or change the roles of one.'
  static examples = ['<%= config.bin %> admin user add alice --role technician --data ./broker-data', '<%= config.bin %> admin user add vic --role vendor --org acme-automation --data ./broker-data']
  static args = { name: Args.string({ required: true }) }
  static flags = {
    ...storeFlags,
    role: Flags.string({ multiple: true, required: true, summary: 'Role (repeatable): technician, shift-lead, vendor, security, admin, ...' }),
    org: Flags.string({ summary: 'Vendor organisation; makes the user a vendor.' }),
  }

  async run() {
    const { args, flags } = await this.parse(AdminUserAdd)
    const user = await withStore(flags, (store, admin) => admin.addUser(store, { name: args.name, roles: flags.role, org: flags.org, disabled: false }))
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Saved user ${user.name} (${user.roles.join(', ')}).`)
    return user
  }
}
