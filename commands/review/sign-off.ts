import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import type { Review } from '../../src/wire/api.js'

export default class ReviewSignOff extends JitCommand {
  static reviewGate = false
  static summary = 'Sign off a filed break-glass review (security role; never your own).'
  static examples = ['<%= config.bin %> review sign-off rev_3k... --comment "rollback verified on site"']
  static args = { id: Args.string({ required: true, description: 'Review id' }) }
  static flags = { comment: Flags.string({ summary: 'Note kept with the sign-off.' }) }

  async run(): Promise<{ review: Review }> {
    const { args, flags } = await this.parse(ReviewSignOff)
    const { review } = await (await this.cli(flags).client()).post<{ review: Review }>(`/reviews/${encodeURIComponent(args.id)}/sign-off`, { comment: flags.comment })
    if (!this.jsonEnabled()) (await import('../../src/cli/output.js')).ui.ok(`Signed off review ${review.id} of ${review.user}.`)
    return { review }
  }
}
