import { Args, Flags } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminWorkloadDisable extends JitCommand {
  static reviewGate = false
  static summary = 'Disable a workload: its sessions end now (cause workload-disabled), its keys are refused until it is enabled.'
  static examples = ['<%= config.bin %> admin workload disable fw-updater --data /var/lib/jit']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags, reason: Flags.string({ summary: 'Why (kept in the audit trail).' }), }

  async run(): Promise<{ workload: string; sessionsEnded: unknown[] }> {
    const { args, flags } = await this.parse(AdminWorkloadDisable)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.disableWorkload(store, args.name, flags.reason))
      : await (await this.cli(flags).client()).post<{ workload: string; sessionsEnded: unknown[] }>(`/admin/workloads/${encodeURIComponent(args.name)}/disable`, flags.reason ? { reason: flags.reason } : {})
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Disabled ${result.workload}: ${result.sessionsEnded.length} session(s) ended.`)
    return result
  }
}
