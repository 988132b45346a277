import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'
import type { WorkloadView } from '../../../src/broker/workloads/register.js'

export default class AdminWorkloadList extends JitCommand {
  static reviewGate = false
  static summary = 'List workloads: owner, attestation, last use, and whether each holds access now.'
  static examples = ['<%= config.bin %> admin workload list --data /var/lib/jit', '<%= config.bin %> admin workload list --json']
  static flags = { ...dataOrApiFlag, ...databaseFlags }

  async run(): Promise<{ workloads: WorkloadView[] }> {
    const { flags } = await this.parse(AdminWorkloadList)
    const workloads = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.listWorkloads(store))
      : (await (await this.cli(flags).client()).get<{ workloads: WorkloadView[] }>('/admin/workloads')).workloads
    if (!this.jsonEnabled()) {
      const { table } = await import('../../../src/cli/output.js')
      this.log(await table(['workload', 'owner', 'attest', 'last use', 'holds now', 'state', 'spiffe id'], workloads.map((w) => [
        w.name, w.owner, w.attest, w.lastUsedAt?.replace('T', ' ').slice(0, 19) ?? 'never', w.activeSessions > 0 ? `${w.activeSessions} session(s)` : 'nothing', w.disabled ? 'disabled' : 'enabled', w.spiffeId,
      ])))
    }
    return { workloads }
  }
}
