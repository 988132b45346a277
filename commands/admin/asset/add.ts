import { Args, Flags } from '@oclif/core'
import { storeFlags, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'
import { UsageError } from '../../../src/errors.js'

export default class AdminAssetAdd extends JitCommand {
  static reviewGate = false
  static summary = 'Add an asset to the inventory, or update it.'
  static description = 'For many assets at once, write an inventory file and use jit admin asset import.'
  static examples = [
    '<%= config.bin %> admin asset add plant-a/line-3/cell-2/plc-07 --owner line-3-leads --safety-critical --data ./broker-data',
    '<%= config.bin %> admin asset add plant-a/line-3/cell-2/plc-07 --gateway gw-line-3 --endpoint 10.3.2.7:502 --endpoint-scope diagnose --data ./broker-data',
    '<%= config.bin %> admin asset add plant-a/line-3/cell-2/plc-07 --timezone Europe/Berlin --window "sat 02:00-06:00" --vendor acme-automation --data ./broker-data',
    '<%= config.bin %> admin asset add plant-a/line-3/cell-2/jump-01 --ssh-host jump-01.plant-a.example:22 --ssh-principal maint --data ./broker-data',
  ]
  static args = { path: Args.string({ required: true, description: 'Asset path: site/area/line/cell/asset' }) }
  static flags = {
    ...storeFlags,
    owner: Flags.string({ summary: 'Owner group (a role whose members may approve when a rule says so).' }),
    'safety-critical': Flags.boolean({ summary: 'Mark as safety-critical.' }),
    state: Flags.string({ options: ['running', 'maintenance', 'stopped', 'offline'], default: 'running' }),
    timezone: Flags.string({ summary: 'Plant local time zone (IANA, e.g. Europe/Berlin), for maintenance windows.' }),
    window: Flags.string({ multiple: true, summary: 'Recurring maintenance window in local time, e.g. "sat 02:00-06:00" or "fri,sat 22:00-02:00".' }),
    vendor: Flags.string({ multiple: true, summary: 'Vendor organisation under contract for this asset.' }),
    'ssh-host': Flags.string({ dependsOn: ['ssh-principal'], summary: 'SSH endpoint for jit ssh: HOST or HOST:PORT.' }),
    'ssh-principal': Flags.string({ multiple: true, dependsOn: ['ssh-host'], summary: 'Account a jit ssh certificate may log in as (the first is the default login).' }),
    gateway: Flags.string({ dependsOn: ['endpoint'], summary: 'Name of the jit gateway in front of this asset (its verifier name).' }),
    endpoint: Flags.string({ dependsOn: ['gateway'], summary: 'HOST:PORT the gateway connects to for this asset.' }),
    'endpoint-scope': Flags.string({ multiple: true, dependsOn: ['endpoint'], summary: 'A scope a tunnel to the endpoint may carry (repeatable; default: any granted scope).' }),
    terminal: Flags.boolean({ dependsOn: ['endpoint'], summary: 'The endpoint is a terminal: recordings also keep an asciicast file.' }),
    protocol: Flags.string({ dependsOn: ['endpoint'], options: ['modbus-tcp'], summary: 'The endpoint speaks this protocol: the gateway checks every request against the session\'s scope (the rule\'s modbus: block).' }),
  }

  async run() {
    const { args, flags } = await this.parse(AdminAssetAdd)
    const { parseWindowSpec } = await import('../../../src/policy/inventory.js')
    const windows = (flags.window ?? []).map((spec) => {
      const window = parseWindowSpec(spec)
      if (!window) throw new UsageError(`--window "${spec}" is not a window.`, ['Write days and local times, e.g. "sat 02:00-06:00", "fri,sat 22:00-02:00" or "daily 00:00-04:00".'])
      return window
    })
    const attributes = {
      owner: flags.owner,
      safetyCritical: flags['safety-critical'],
      state: flags.state,
      ...(flags.timezone ? { timezone: flags.timezone } : {}),
      ...(windows.length ? { windows } : {}),
      ...(flags.vendor ? { vendors: flags.vendor } : {}),
      ...(flags.gateway ? { gateway: flags.gateway, endpoint: checkEndpoint(flags.endpoint!) } : {}),
      ...(flags['endpoint-scope'] ? { endpointScopes: flags['endpoint-scope'] } : {}),
      ...(flags.terminal ? { terminal: true } : {}),
      ...(flags.protocol ? { protocol: flags.protocol } : {}),
      ...(flags['ssh-host'] ? { ssh: { host: flags['ssh-host'], principals: flags['ssh-principal'] } } : {}),
    }
    if (attributes.ssh) {
      const { sshTargetOf } = await import('../../../src/broker/ssh-ca/target.js')
      if (!sshTargetOf(attributes)) throw new UsageError(`--ssh-host "${flags['ssh-host']}" with principals ${JSON.stringify(flags['ssh-principal'])} is not an SSH endpoint.`, ['Give HOST or HOST:PORT and account names, e.g. --ssh-host jump-01.plant-a.example:22 --ssh-principal maint'])
    }
    const asset = await withStore(flags, (store, admin) => admin.addAsset(store, { path: args.path, attributes }))
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Saved asset ${asset.path}.`)
    return asset
  }
}

function checkEndpoint(endpoint: string): string {
  const match = /^(.+):(\d{1,5})$/.exec(endpoint)
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new UsageError(`--endpoint "${endpoint}" is not HOST:PORT.`)
  return endpoint
}
