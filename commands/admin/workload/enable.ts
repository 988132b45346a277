import { Args } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminWorkloadEnable extends JitCommand {
  static reviewGate = false
  static summary = 'Enable a disabled workload again.'
  static examples = ['<%= config.bin %> admin workload enable fw-updater --data /var/lib/jit']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags }

  async run(): Promise<{ workload: string }> {
    const { args, flags } = await this.parse(AdminWorkloadEnable)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.enableWorkload(store, args.name))
      : await (await this.cli(flags).client()).post<{ workload: string }>(`/admin/workloads/${encodeURIComponent(args.name)}/enable`, {})
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Enabled ${result.workload}.`)
    return result
  }
}
