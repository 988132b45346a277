import { storeFlags, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminUserList extends JitCommand {
  static reviewGate = false
  static summary = 'List users and their roles.'
  static examples = ['<%= config.bin %> admin user list --data ./broker-data']
  static flags = { ...storeFlags }

  async run() {
    const { flags } = await this.parse(AdminUserList)
    const { isWorkloadPrincipal } = await import('../../../src/broker/spiffe/spiffe-id.js')
    // Workloads' principals are rows of users too; jit admin workload list shows them.
    const users = (await withStore(flags, (store) => store.users.list())).filter((u) => !isWorkloadPrincipal(u.name))
    if (!this.jsonEnabled()) {
      const { table } = await import('../../../src/cli/output.js')
      this.log(await table(['user', 'roles', 'org'], users.map((u) => [u.name, u.roles.join(', '), u.org ?? ''])))
    }
    return { users }
  }
}
