import { Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import type { AccessRequest } from '../src/wire/api.js'

export default class Requests extends JitCommand {
  static summary = 'List what I asked for, or (--pending) what waits for me to approve.'
  static examples = ['<%= config.bin %> requests', '<%= config.bin %> requests --pending --json']
  static flags = { pending: Flags.boolean({ summary: 'Requests waiting for my approval.' }) }

  async run(): Promise<{ requests: AccessRequest[] }> {
    const { flags } = await this.parse(Requests)
    const client = await this.cli(flags).client()
    const { requests } = await client.get<{ requests: AccessRequest[] }>(`/requests${flags.pending ? '?pending=true' : ''}`)
    if (!this.jsonEnabled()) {
      const { table, ui } = await import('../src/cli/output.js')
      if (requests.length === 0) ui.info(flags.pending ? 'Nothing waits for your approval.' : 'You have no requests.')
      else {
        const head = ['id', ...(flags.pending ? ['who'] : []), 'ticket', 'asset', 'scope', 'ttl', 'state', 'approvals', 'reason']
        const rows = requests.map((r) => [r.id, ...(flags.pending ? [r.user] : []), r.ticket, r.asset, r.scope, `${Math.round(r.ttlSeconds / 60)}m`, r.state, `${r.approvals.length}/${r.approvalsNeeded}`, r.reason])
        this.log(await table(head, rows))
        // Own requests still waiting: how to collect them once approved.
        if (!flags.pending) {
          for (const r of requests.filter((r) => r.state === 'pending')) ui.info(`${r.id} waits for approval; jit sessions pickup ${r.id} collects the credential once it is approved.`)
        }
      }
    }
    return { requests }
  }
}
