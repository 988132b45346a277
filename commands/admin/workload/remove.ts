import { Args } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminWorkloadRemove extends JitCommand {
  static reviewGate = false
  static summary = 'Remove a workload: its sessions end, its keys are revoked, its name stays in the audit trail.'
  static examples = ['<%= config.bin %> admin workload remove fw-updater --data /var/lib/jit']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags }

  async run(): Promise<{ workload: string; sessionsEnded: unknown[] }> {
    const { args, flags } = await this.parse(AdminWorkloadRemove)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.removeWorkload(store, args.name))
      : await (await this.cli(flags).client()).post<{ workload: string; sessionsEnded: unknown[] }>(`/admin/workloads/${encodeURIComponent(args.name)}/remove`, {})
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Removed ${result.workload}: ${result.sessionsEnded.length} session(s) ended.`)
    return result
  }
}
