import { Args, Flags } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'
import type { Offboarded } from '../../../src/broker/offboarding.js'

export default class AdminDeviceRevoke extends JitCommand {
  static reviewGate = false
  static summary = 'Revoke a device (a stolen laptop): its sessions end now, its pending requests are cancelled, its key is refused.'
  static examples = ['<%= config.bin %> admin device revoke dev_4f... --reason "laptop stolen"']
  static args = { id: Args.string({ required: true, description: 'Device id (jit admin device list)' }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags, reason: Flags.string({ summary: 'Why (kept in the audit trail).' }) }

  async run(): Promise<Offboarded & { deviceId: string; user: string }> {
    const { args, flags } = await this.parse(AdminDeviceRevoke)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.revokeDevice(store, args.id, flags.reason))
      : await (await this.cli(flags).client()).post<Offboarded & { deviceId: string; user: string }>(`/admin/devices/${encodeURIComponent(args.id)}/revoke`, flags.reason ? { reason: flags.reason } : {})
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Revoked device ${result.deviceId} of ${result.user}: ${result.sessionsEnded.length} session(s) ended, ${result.requestsCancelled.length} pending request(s) cancelled.`)
    return result
  }
}
