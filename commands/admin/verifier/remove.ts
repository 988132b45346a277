import { Args } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminVerifierRemove extends JitCommand {
  static reviewGate = false
  static summary = 'Remove a verifier; its token stops working now.'
  static examples = ['<%= config.bin %> admin verifier remove gateway-line-3']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags }

  async run(): Promise<{ name: string; removed: boolean }> {
    const { args, flags } = await this.parse(AdminVerifierRemove)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.removeVerifier(store, args.name))
      : await (await this.cli(flags).client()).post<{ name: string; removed: boolean }>(`/admin/verifiers/${encodeURIComponent(args.name)}/remove`, {})
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Removed verifier ${result.name}.`)
    return result
  }
}
