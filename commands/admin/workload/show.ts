import { Args } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

type Shown = Awaited<ReturnType<typeof import('../../../src/broker/workloads/register.js').showWorkload>>

export default class AdminWorkloadShow extends JitCommand {
  static reviewGate = false
  static summary = 'Show one workload: its SPIFFE ID, owner, attestation, keys, last use and what it holds now.'
  static examples = ['<%= config.bin %> admin workload show fw-updater --data /var/lib/jit']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags }

  async run(): Promise<Shown> {
    const { args, flags } = await this.parse(AdminWorkloadShow)
    const shown = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.showWorkload(store, args.name))
      : await (await this.cli(flags).client()).get<Shown>(`/admin/workloads/${encodeURIComponent(args.name)}`)
    if (!this.jsonEnabled()) {
      this.log(`${shown.name}  ${shown.spiffeId}`)
      this.log(`  owner ${shown.owner}, attestation ${shown.attest}, ${shown.disabled ? 'disabled' : 'enabled'}, last use ${shown.lastUsedAt ?? 'never'}, holds ${shown.activeSessions} session(s)`)
      for (const key of shown.keys) this.log(`  key ${key.deviceId} enrolled ${key.createdAt}${key.revokedAt ? `, revoked ${key.revokedAt}` : ''}`)
    }
    return shown
  }
}
