import { Args } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import type { RequestResult } from '../src/wire/api.js'

export default class Cancel extends JitCommand {
  static summary = 'Cancel one of your pending requests.'
  static examples = ['<%= config.bin %> cancel req_7d2...']
  static args = { id: Args.string({ required: true, description: 'Request id' }) }

  async run() {
    const { args, flags } = await this.parse(Cancel)
    const client = await this.cli(flags).client()
    const { request } = await client.post<RequestResult>(`/requests/${encodeURIComponent(args.id)}/cancel`)
    ;(await import('../src/cli/sessions/pending-requests.js')).forgetPending(request.id)
    if (!this.jsonEnabled()) (await import('../src/cli/output.js')).ui.ok(`Cancelled ${request.id}.`)
    return { request }
  }
}
