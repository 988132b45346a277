import { Args, Flags } from '@oclif/core'
import { dataFlag, withStore } from '../../../src/cli/admin-flags.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminAssetAdd extends JitCommand {
  static reviewGate = false
  static summary = 'Add an asset to the inventory, or update it.'
  static examples = ['<%= config.bin %> admin asset add plant-a/line-3/cell-2/plc-07 --owner line-3-leads --safety-critical --data ./broker-data']
  static args = { path: Args.string({ required: true, description: 'Asset path: site/area/line/cell/asset' }) }
  static flags = {
    ...dataFlag,
    owner: Flags.string({ summary: 'Owner group.' }),
    'safety-critical': Flags.boolean({ summary: 'Mark as safety-critical.' }),
    state: Flags.string({ options: ['running', 'maintenance', 'stopped', 'offline'], default: 'running' }),
  }

  async run() {
    const { args, flags } = await this.parse(AdminAssetAdd)
    const attributes = { owner: flags.owner, safetyCritical: flags['safety-critical'], state: flags.state }
    const asset = await withStore(flags.data, (store, admin) => admin.addAsset(store, { path: args.path, attributes }))
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Saved asset ${asset.path}.`)
    return asset
  }
}
