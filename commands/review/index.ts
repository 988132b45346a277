import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import { UsageError } from '../../src/errors.js'
import type { Review } from '../../src/wire/api.js'

export default class ReviewFile extends JitCommand {
  static reviewGate = false
  static summary = 'File the post-event review of a break-glass session.'
  static description = 'Without ID, files your due review. At a terminal the questions are asked; unattended, pass --file (YAML or JSON with what_was_done, why_not_normal_path, changes_to_asset, rollback_needed, follow_up_ticket).'
  static examples = ['<%= config.bin %> review', '<%= config.bin %> review rev_3k... --file review.yaml']
  static args = { id: Args.string({ description: 'Review id (default: your due review)' }) }
  static flags = { file: Flags.string({ char: 'f', summary: 'Answers from this YAML/JSON file.' }) }

  async run(): Promise<{ review: Review }> {
    const { args, flags } = await this.parse(ReviewFile)
    const cli = this.cli(flags)
    const [{ dueReviews, fileReview }, { readReviewFile, promptReview }] = await Promise.all([import('../../src/cli/breakglass/due-review-prompt.js'), import('../../src/cli/breakglass/review-form.js')])
    const answersFromFile = flags.file ? readReviewFile(flags.file) : undefined
    if (!answersFromFile && !this.canPrompt(flags)) {
      throw new UsageError('A review needs answers: this run cannot prompt.', ['Pass them in a file: jit review ID --file review.yaml'])
    }
    const due = await dueReviews(cli)
    const target = args.id ? (due.find((r) => r.id === args.id) ?? { id: args.id, asset: '(see jit reviews)', sessionId: '' }) : due[0]
    if (!target) throw new UsageError('You have no review due.', ['jit reviews lists yours.'])
    const review = await fileReview(cli, target.id, answersFromFile ?? (await promptReview(target)))
    if (!this.jsonEnabled()) (await import('../../src/cli/output.js')).ui.ok(`Review ${review.id} filed; security will sign it off.`)
    return { review }
  }
}
