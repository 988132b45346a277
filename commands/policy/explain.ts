import { Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import type { Explanation } from '../../src/policy/explain.js'

export default class PolicyExplain extends JitCommand {
  static reviewGate = false
  static summary = 'Show which rule decides a request, and why each other rule about this person or asset does not.'
  static description = 'Users, assets and active sessions come from --data (the broker data folder) or --inventory; --role/--org describe a user who does not exist yet.'
  static examples = [
    '<%= config.bin %> policy explain --policy policy.yaml --data ./broker-data --user alice --asset plant-a/line-3/cell-2/plc-07 --scope control',
    '<%= config.bin %> policy explain --policy policy.yaml --inventory plant.yaml --user vic --role vendor --org acme-automation --asset plant-a/line-3/cell-2/plc-07 --scope diagnose --at 2026-03-28T03:00:00+01:00',
  ]
  static flags = {
    policy: Flags.string({ env: 'JIT_POLICY', required: true, summary: 'Policy file (YAML).' }),
    data: Flags.string({ env: 'JIT_DATA', summary: 'Broker data folder, for users, assets and who holds what.' }),
    inventory: Flags.string({ summary: 'Inventory file (YAML), for assets.' }),
    user: Flags.string({ required: true, summary: 'Who asks.' }),
    role: Flags.string({ multiple: true, summary: 'Roles of the user (instead of reading them from --data).' }),
    org: Flags.string({ dependsOn: ['role'], summary: 'Vendor organisation of the user.' }),
    asset: Flags.string({ required: true, summary: 'Asset path.' }),
    scope: Flags.string({ required: true, summary: 'Scope asked for, e.g. control.' }),
    ticket: Flags.string({ summary: 'Ticket id; without one, rules that need a ticket do not match.' }),
    ttl: Flags.string({ default: '30m', summary: 'TTL asked for.' }),
    at: Flags.string({ summary: 'Decide as of this time (ISO 8601), e.g. to check a maintenance window.' }),
  }

  async run(): Promise<Explanation> {
    const { flags } = await this.parse(PolicyExplain)
    const { explainAccess } = await import('../../src/policy/tools.js')
    const known = flags.data ? (await import('../../src/broker/admin.js')).knownFacts(flags.data, flags.user, flags.asset) : undefined
    const result = await explainAccess({
      policyFile: flags.policy, known, inventoryFile: flags.inventory, user: flags.user, roles: flags.role, org: flags.org,
      asset: flags.asset, scope: flags.scope, ticket: flags.ticket, ttl: flags.ttl, at: flags.at,
    })
    if (!this.jsonEnabled()) {
      const { ui, table } = await import('../../src/cli/output.js')
      const d = result.decision
      const who = `${result.user} (${result.roles.join(', ')}${result.org ? `; vendor ${result.org}` : ''})`
      process.stderr.write(`${who} → ${result.scope} on ${result.asset} at ${result.at}${result.localTime ? ` (${result.localTime})` : ''}\n`)
      if (d.allow) ui.ok(`Allowed by rule ${d.rule}${d.approvalsNeeded ? `, after ${d.approvalsNeeded} approval(s) from ${d.approverRoles.join(' or ')}` : ', no approval needed'}${d.cacheAllowed ? '' : ', not cached on the device'}.`)
      else {
        ui.fail(`Denied${d.rule ? ` (rule ${d.rule} applies)` : ''}:`)
        for (const reason of d.reasons) process.stderr.write(`    - ${reason}\n`)
      }
      if (result.modbus) {
        const { describeModbusGrant } = await import('../../src/policy/modbus.js')
        for (const line of describeModbusGrant(result.modbus)) this.log(`Modbus/TCP: ${line}`)
      }
      if (result.rules.length > 0) this.log(await table(['rule', 'line', 'verdict', 'why'], result.rules.map((r) => [r.rule, r.line ?? '', r.verdict, r.why.join('\n')])))
      if (result.unrelated > 0) process.stderr.write(ui.dim(`${result.unrelated} other rules are neither for ${result.user} nor for this asset.\n`))
    }
    return result
  }
}
