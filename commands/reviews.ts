import { Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import type { Review } from '../src/wire/api.js'

export default class Reviews extends JitCommand {
  static reviewGate = false
  static summary = 'List break-glass reviews: mine, or (security) everyone\'s; --pending awaits sign-off, --overdue is past due.'
  static examples = ['<%= config.bin %> reviews', '<%= config.bin %> reviews --pending', '<%= config.bin %> reviews --overdue --json']
  static flags = {
    pending: Flags.boolean({ exclusive: ['overdue'], summary: 'Filed and waiting for sign-off.' }),
    overdue: Flags.boolean({ exclusive: ['pending'], summary: 'Not filed and past their due time.' }),
  }

  async run(): Promise<{ reviews: Review[] }> {
    const { flags } = await this.parse(Reviews)
    const query = flags.pending ? '?pending=true' : flags.overdue ? '?overdue=true' : ''
    const { reviews } = await (await this.cli(flags).client()).get<{ reviews: Review[] }>(`/reviews${query}`)
    if (!this.jsonEnabled()) {
      const { table, ui } = await import('../src/cli/output.js')
      if (reviews.length === 0) ui.info('No reviews.')
      else this.log(await table(['id', 'who', 'asset', 'kind', 'state', 'due', 'overdue'], reviews.map((r) => [r.id, r.user, r.asset, r.kind, r.state, r.dueAt.replace('T', ' ').slice(0, 16), r.overdue ? 'OVERDUE' : 'no'])))
    }
    return { reviews }
  }
}
