import { storeFlags, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminAssetList extends JitCommand {
  static reviewGate = false
  static summary = 'List the asset inventory: a table, or every attribute as JSON with --json.'
  static examples = ['<%= config.bin %> admin asset list --data ./broker-data', '<%= config.bin %> admin asset list --data ./broker-data --json']
  static flags = { ...storeFlags }

  async run() {
    const { flags } = await this.parse(AdminAssetList)
    const assets = await withStore(flags, (store) => store.assets.list())
    if (!this.jsonEnabled()) {
      const [{ table, ui }, { factsOf }, { describeWindow }] = await Promise.all([
        import('../../../src/cli/output.js'),
        import('../../../src/policy/inventory.js'),
        import('../../../src/policy/windows.js'),
      ])
      if (assets.length === 0) ui.info('The inventory is empty: jit admin asset add or jit admin asset import.')
      else {
        const KNOWN = new Set(['state', 'owner', 'safetyCritical', 'vendors', 'windows', 'timezone'])
        const rows = assets.map((a) => {
          const facts = factsOf(a.path, a.attributes)
          const other = Object.entries(a.attributes).filter(([k]) => !KNOWN.has(k)).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
          return [a.path, facts.state, facts.owner ?? '-', facts.safetyCritical ? 'yes' : 'no', facts.vendors.join(', ') || '-', facts.windows.map(describeWindow).join('; ') || '-', other.join(' ') || '-']
        })
        this.log(await table(['asset', 'state', 'owner', 'safety-critical', 'vendors', 'maintenance windows', 'other'], rows))
      }
    }
    return { assets }
  }
}
