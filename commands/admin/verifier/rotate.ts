import { Args } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminVerifierRotate extends JitCommand {
  static reviewGate = false
  static summary = 'Give a verifier a new introspection token and print it once; the old token stops working now.'
  static examples = ['<%= config.bin %> admin verifier rotate gateway-line-3 > token.txt']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...dataOrApiFlag, ...databaseFlags }

  async run(): Promise<{ name: string; token: string }> {
    const { args, flags } = await this.parse(AdminVerifierRotate)
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.rotateVerifier(store, args.name))
      : await (await this.cli(flags).client()).post<{ name: string; token: string }>(`/admin/verifiers/${encodeURIComponent(args.name)}/rotate`, {})
    if (!this.jsonEnabled()) {
      this.log(result.token)
      ;(await import('../../../src/cli/output.js')).ui.info(`Verifier ${result.name}: new token above, shown only now; the old one no longer works.`)
    }
    return result
  }
}
