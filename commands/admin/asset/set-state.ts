import { Args, Flags } from '@oclif/core'
import { storeFlags, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminAssetSetState extends JitCommand {
  static reviewGate = false
  static summary = 'Record the current state of an asset (running, maintenance, stopped, offline); the policy decides on it at once.'
  static examples = [
    '<%= config.bin %> admin asset set-state plant-a/line-3/cell-2/plc-07 maintenance --reason "line stopped for WO-104233" --data ./broker-data',
  ]
  static args = {
    path: Args.string({ required: true, description: 'Asset path.' }),
    state: Args.string({ required: true, options: ['running', 'maintenance', 'stopped', 'offline'], description: 'The new state.' }),
  }
  static flags = { ...storeFlags, reason: Flags.string({ summary: 'Why (goes to the audit log).' }) }

  async run() {
    const { args, flags } = await this.parse(AdminAssetSetState)
    const result = await withStore(flags, (store, admin) => admin.setAssetState(store, args.path, args.state, flags.reason))
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`${result.asset}: ${result.previous} → ${result.state}.`)
    return result
  }
}
