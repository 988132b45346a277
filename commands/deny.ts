import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import type { RequestResult } from '../src/wire/api.js'

export default class Deny extends JitCommand {
  static summary = 'Deny a pending request, with a reason the requester will see.'
  static examples = ['<%= config.bin %> deny req_7d2... --reason "line is running; wait for the window"']
  static args = { id: Args.string({ required: true, description: 'Request id' }) }
  static flags = { reason: Flags.string({ required: true, summary: 'Why (shown to the requester, kept in the audit log).' }) }

  async run() {
    const { args, flags } = await this.parse(Deny)
    const client = await this.cli(flags).client()
    const { request } = await client.post<RequestResult>(`/requests/${encodeURIComponent(args.id)}/deny`, { reason: flags.reason })
    if (!this.jsonEnabled()) (await import('../src/cli/output.js')).ui.ok(`Denied ${request.id}.`)
    return { request }
  }
}
