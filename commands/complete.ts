import { Args } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { COMPLETION_KINDS } from '../src/cli/completion/values.js'

export default class Complete extends JitCommand {
  static hidden = true
  static housekeeping = false
  static enableJsonFlag = false
  static summary = 'Values for shell completion, one a line (used by the completion script); bash-setup prints that script.'
  static examples = ['<%= config.bin %> complete bash-setup >> ~/.bashrc', '<%= config.bin %> complete assets']
  static args = { kind: Args.string({ required: true, options: [...COMPLETION_KINDS, 'bash-setup'] }) }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Complete)
    const { BASH_DYNAMIC_COMPLETION, completionValues } = await import('../src/cli/completion/values.js')
    if (args.kind === 'bash-setup') return void process.stdout.write(BASH_DYNAMIC_COMPLETION)
    let values: string[] = []
    try {
      values = await completionValues(this.cli(flags), args.kind as (typeof COMPLETION_KINDS)[number])
    } catch {
      // Not enrolled, broker unreachable: nothing to offer, and nothing to say in the middle of a command line.
    }
    if (values.length > 0) process.stdout.write(`${values.join('\n')}\n`)
  }
}
