import { Args, Flags } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminWorkloadJoinToken extends JitCommand {
  static reviewGate = false
  static summary = 'Make a one-time join token with which the workload\'s host enrolls its key pair. Hand it over out of band.'
  static description = 'Printed once on stdout; only its hash is kept. On the host, as the workload\'s user: jit workload enroll NAME --broker URL --token-file FILE (or the token on stdin).'
  static examples = ['<%= config.bin %> admin workload join-token fw-updater --valid 1h --data /var/lib/jit']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags, valid: Flags.string({ default: '1h', summary: 'How long the token stays usable (1m to 7d).' }) }

  async run(): Promise<{ workload: string; token: string; expiresAt: string }> {
    const { args, flags } = await this.parse(AdminWorkloadJoinToken)
    const { parseDuration } = await import('../../../src/util/ttl.js')
    const validSeconds = parseDuration(flags.valid, '--valid')
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.workloadJoinToken(store, args.name, validSeconds))
      : await (await this.cli(flags).client()).post<{ workload: string; token: string; expiresAt: string }>(`/admin/workloads/${encodeURIComponent(args.name)}/join-token`, { validSeconds })
    if (!this.jsonEnabled()) {
      this.log(result.token)
      ;(await import('../../../src/cli/output.js')).ui.info(`One-time join token for ${result.workload}, valid until ${result.expiresAt}: jit workload enroll ${result.workload} --broker URL --token-file FILE`)
    }
    return result
  }
}
