import { Args } from '@oclif/core'
import { storeFlags, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminAssetImport extends JitCommand {
  static reviewGate = false
  static summary = 'Load an inventory file (YAML) into the broker: every asset in it is added or updated, all or nothing.'
  static description = 'Exit codes: 0 imported, 2 the file has mistakes (each shown as FILE:LINE:COL) and nothing changed.'
  static examples = ['<%= config.bin %> admin asset import plant-a.yaml --data ./broker-data']
  static args = { file: Args.string({ required: true, description: 'Inventory file (YAML).' }) }
  static flags = { ...storeFlags }

  async run() {
    const { args, flags } = await this.parse(AdminAssetImport)
    const result = await withStore(flags, (store, admin) => admin.importInventory(store, args.file))
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Imported ${result.file}: ${result.added} added, ${result.updated} updated.`)
    return result
  }
}
