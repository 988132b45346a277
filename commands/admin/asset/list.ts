import { dataFlag, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminAssetList extends JitCommand {
  static reviewGate = false
  static summary = 'List the asset inventory.'
  static examples = ['<%= config.bin %> admin asset list --data ./broker-data']
  static flags = { ...dataFlag }

  async run() {
    const { flags } = await this.parse(AdminAssetList)
    const assets = await withStore(flags.data, (store) => store.listAssets())
    if (!this.jsonEnabled()) {
      const { table } = await import('../../../src/cli/output.js')
      this.log(await table(['asset', 'attributes'], assets.map((a) => [a.path, JSON.stringify(a.attributes)])))
    }
    return { assets }
  }
}
