import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import type { RequestResult } from '../src/wire/api.js'

export default class Approve extends JitCommand {
  static summary = 'Approve a pending request (never your own).'
  static examples = ['<%= config.bin %> approve req_7d2... --comment "line 3 is in its window"']
  static args = { id: Args.string({ required: true, description: 'Request id' }) }
  static flags = { comment: Flags.string({ summary: 'Note for the requester and the audit log.' }) }

  async run() {
    const { args, flags } = await this.parse(Approve)
    const client = await this.cli(flags).client()
    const { request } = await client.post<RequestResult>(`/requests/${encodeURIComponent(args.id)}/approve`, { comment: flags.comment })
    if (!this.jsonEnabled()) {
      const { ui } = await import('../src/cli/output.js')
      ui.ok(request.state === 'approved' ? `Approved ${request.id}: ${request.user} may now use ${request.scope} on ${request.asset}.` : `Approval recorded for ${request.id}: ${request.approvals.length} of ${request.approvalsNeeded}.`)
    }
    return { request }
  }
}
