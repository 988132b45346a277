import { Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { JitError } from '../src/errors.js'

export default class Quickstart extends JitCommand {
  static reviewGate = false
  static summary = 'See jit work in one command: a demo broker, this device enrolled, one real session end to end.'
  static description = 'Starts a broker on a free loopback port with a small demo plant in a folder of its own, enrolls this device, and walks request → approval → cached credential → a command run with it → revoke → the audit trail; then shows the policy at work (vendor contracts, maintenance windows, two approvers, exclusive control), break-glass, a drill, and a vendor\'s connection through a demo gateway cut the moment its session is revoked. Your own profiles are not touched. Without an OS keychain it says so and keeps secrets in memory.'
  static examples = ['<%= config.bin %> quickstart', '<%= config.bin %> quickstart --json']

  static flags = {
    // The maintenance tool the demo runs with its credential (jit runs itself for it).
    'demo-tool': Flags.boolean({ hidden: true }),
  }

  async run() {
    const { flags } = await this.parse(Quickstart)
    if (flags['demo-tool']) {
      const { runDemoTool } = await import('../src/quickstart/quickstart.js')
      process.exitCode = await runDemoTool()
      return
    }
    const { quickstart } = await import('../src/quickstart/quickstart.js')
    const result = await quickstart({ quiet: this.jsonEnabled() })
    const tour = result.policy
    const gw = result.gateway
    const gatewayShown = gw.skipped !== undefined || (gw.echoed === true && (gw.cutAfterMs ?? Infinity) < 1000 && gw.connectionRecord?.endCause === 'revoked')
    const policyShown = tour.twoApprovers.state === 'approved' && tour.twoApprovers.approvers.length === 2 && tour.exclusive.holder !== ''
    if (!result.activeWhileRunning || result.activeAfterRevoke || !result.auditIntact || result.breakGlass.reviewState !== 'filed' || !result.drill.passed || !policyShown || !gatewayShown) {
      throw new JitError('The quickstart session did not behave as it should (see above).', ['This is a bug in jit; please report the output.'], { result })
    }
    return result
  }
}
