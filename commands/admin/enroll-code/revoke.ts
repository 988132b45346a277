import { Flags } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminEnrollCodeRevoke extends JitCommand {
  static reviewGate = false
  static summary = 'Revoke every unused enrollment code of a user (codes are secrets: they are named by user, never typed here).'
  static examples = ['<%= config.bin %> admin enroll-code revoke --user vic']
  static flags = { ...dataOrApiFlag, ...databaseFlags, user: Flags.string({ required: true, summary: 'Whose unused codes to revoke.' }) }

  async run(): Promise<{ user: string; revoked: number }> {
    const { flags } = await this.parse(AdminEnrollCodeRevoke)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.revokeEnrollmentCodes(store, flags.user))
      : await (await this.cli(flags).client()).post<{ user: string; revoked: number }>('/admin/enroll-codes/revoke', { user: flags.user })
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Revoked ${result.revoked} unused enrollment code(s) of ${result.user}.`)
    return result
  }
}
