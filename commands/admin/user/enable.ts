import { Args } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminUserEnable extends JitCommand {
  static reviewGate = false
  static summary = 'Enable a disabled user again (their old sessions stay ended).'
  static examples = ['<%= config.bin %> admin user enable vic']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags }

  async run(): Promise<{ user: string; disabled: boolean }> {
    const { args, flags } = await this.parse(AdminUserEnable)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.enableUser(store, args.name))
      : await (await this.cli(flags).client()).post<{ user: string; disabled: boolean }>(`/admin/users/${encodeURIComponent(args.name)}/enable`, {})
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Enabled ${result.user}.`)
    return result
  }
}
