import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import { PolicyTestFailedError } from '../../src/errors.js'
import type { CasesReport } from '../../src/policy/cases.js'

export default class PolicyTest extends JitCommand {
  static reviewGate = false
  static summary = 'Run a file of cases (request → expected allow/deny, rule, approvals, reasons) against a policy.'
  static description = [
    'Exit codes: 0 every case decided as expected; 2 a case did not (each difference is shown), or a file has mistakes.',
    'The cases file names the policy and inventory it tests (paths relative to it); --policy and --inventory override them.',
  ].join('\n')
  static examples = ['<%= config.bin %> policy test policy-cases.yaml', '<%= config.bin %> policy test cases.yaml --policy next-policy.yaml --json']
  static args = { cases: Args.string({ required: true, description: 'Cases file (YAML).' }) }
  static flags = {
    policy: Flags.string({ env: 'JIT_POLICY', summary: 'Policy file to test instead of the one the cases file names.' }),
    inventory: Flags.string({ summary: 'Inventory file to use instead of the one the cases file names.' }),
  }

  async run(): Promise<CasesReport> {
    const { args, flags } = await this.parse(PolicyTest)
    const { testPolicy } = await import('../../src/policy/tools.js')
    const report = testPolicy(args.cases, { policyFile: flags.policy, inventoryFile: flags.inventory })
    if (!this.jsonEnabled()) {
      const { ui } = await import('../../src/cli/output.js')
      for (const result of report.results) {
        if (result.ok) ui.ok(result.name)
        else {
          ui.fail(`${result.name}  ${ui.dim(`(${report.cases}:${result.line})`)}`)
          for (const line of result.diff) process.stderr.write(`      ${line}\n`)
        }
      }
    }
    if (report.failed > 0) {
      throw new PolicyTestFailedError(`${report.failed} of ${report.results.length} cases did not decide as expected.`, ['Fix the policy or the cases; jit policy explain shows why a rule does or does not match.'], { ...report })
    }
    if (!this.jsonEnabled()) (await import('../../src/cli/output.js')).ui.info(`${report.passed} cases passed against ${report.policy}.`)
    return report
  }
}
