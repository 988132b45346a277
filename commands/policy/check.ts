import { Args } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import type { CheckResult } from '../../src/policy/tools.js'

export default class PolicyCheck extends JitCommand {
  static reviewGate = false
  static summary = 'Validate a policy file; every mistake is shown with file, line and column.'
  static description = 'Exit codes: 0 the policy is valid, 2 it has problems (each listed as FILE:LINE:COL: what was expected).'
  static examples = ['<%= config.bin %> policy check policy.yaml', '<%= config.bin %> policy check /etc/jit/policy.yaml --json']
  static args = { file: Args.string({ required: true, description: 'Policy file (YAML).' }) }

  async run(): Promise<CheckResult> {
    const { args } = await this.parse(PolicyCheck)
    const { checkPolicy } = await import('../../src/policy/tools.js')
    const result = checkPolicy(args.file)
    if (!this.jsonEnabled()) {
      const { ui } = await import('../../src/cli/output.js')
      ui.ok(`${result.file} is valid: ${result.rules} rules${result.breakGlass ? ', a break-glass section' : ''}${result.ticketSystems.length ? `, tickets from ${result.ticketSystems.join(', ')}` : ''}.`)
    }
    return result
  }
}
