import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminVerifierList extends JitCommand {
  static reviewGate = false
  static summary = 'List the registered verifiers (gateways, jump hosts); their tokens are never shown again.'
  static examples = ['<%= config.bin %> admin verifier list --json']
  static flags = { ...dataOrApiFlag, ...databaseFlags }

  async run(): Promise<{ verifiers: { name: string; createdAt: string }[] }> {
    const { flags } = await this.parse(AdminVerifierList)
    const verifiers = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.listVerifiers(store))
      : (await (await this.cli(flags).client()).get<{ verifiers: { name: string; createdAt: string }[] }>('/admin/verifiers')).verifiers
    if (!this.jsonEnabled()) {
      const { table } = await import('../../../src/cli/output.js')
      this.log(await table(['verifier', 'registered'], verifiers.map((v) => [v.name, v.createdAt])))
    }
    return { verifiers }
  }
}
