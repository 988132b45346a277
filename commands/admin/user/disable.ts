import { Args, Flags } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'
import type { Offboarded } from '../../../src/broker/offboarding.js'

export default class AdminUserDisable extends JitCommand {
  static reviewGate = false
  static summary = 'Disable a user: their sessions end now, their pending requests are cancelled, their devices are refused.'
  static examples = ['<%= config.bin %> admin user disable vic --reason "contract ended"', '<%= config.bin %> admin user disable vic --data /var/lib/jit --json']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags, reason: Flags.string({ summary: 'Why (kept in the audit trail).' }) }

  async run(): Promise<Offboarded & { user: string }> {
    const { args, flags } = await this.parse(AdminUserDisable)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.disableUser(store, args.name, flags.reason))
      : await (await this.cli(flags).client()).post<Offboarded & { user: string }>(`/admin/users/${encodeURIComponent(args.name)}/disable`, flags.reason ? { reason: flags.reason } : {})
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Disabled ${result.user}: ${result.sessionsEnded.length} session(s) ended, ${result.requestsCancelled.length} pending request(s) cancelled.`)
    return result
  }
}
