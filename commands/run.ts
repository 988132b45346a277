import { Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { UsageError } from '../src/errors.js'

export default class Run extends JitCommand {
  static opensSession = true
  static reviewGate = false
  static summary = 'Run a job as a workload: open a session with the workload\'s key, run the command with its credential, revoke when the command ends.'
  static description = 'Non-interactive: no prompt, no keychain. The workload signs with the key in its folder (jit workload enroll); the policy decides on the workload, the declared --intent and the host the call comes from, and may ask a person to approve (jit run then waits up to --timeout). The command gets JIT_TOKEN, JIT_SESSION_ID, JIT_ASSET, JIT_SCOPE, JIT_TICKET and JIT_EXPIRES_AT; jit exits with its exit code (128+N for signal N) and the session is revoked however it ends, as with jit exec.'
  static examples = ['<%= config.bin %> run --workload fw-updater --ticket WO-104233 --asset plant-a/line-3/cell-2/plc-07 --scope control --ttl 10m --intent firmware-update -- ./flash.sh']
  static strict = false
  static flags = {
    workload: Flags.string({ required: true, env: 'JIT_WORKLOAD', summary: 'The workload to run as (enrolled on this host).' }),
    dir: Flags.string({ summary: 'The workload folder (default: JIT_WORKLOAD_DIR, else workloads/NAME in jit\'s configuration folder).' }),
    ticket: Flags.string({ required: true, env: 'JIT_TICKET', summary: 'Work order, change or incident id the job is for.' }),
    asset: Flags.string({ required: true, summary: 'Asset path, e.g. plant-a/line-3/cell-2/plc-07.' }),
    scope: Flags.string({ required: true, summary: 'What the job needs to do, e.g. read, control.' }),
    ttl: Flags.string({ default: '10m', summary: 'How long the access may last (e.g. 10m).' }),
    intent: Flags.string({ required: true, summary: 'What the job is for, e.g. firmware-update (the policy may name it).' }),
    reason: Flags.string({ summary: 'Why (default: the command line).' }),
    timeout: Flags.string({ default: '30m', summary: 'How long to wait for a person to approve, if the policy asks for one.' }),
  }

  async run() {
    const { flags, argv } = await this.parse(Run)
    const command = argv as string[]
    if (command.length === 0) throw new UsageError('No command to run.', ['Put it after --, e.g. jit run --workload NAME ... -- ./job.sh'])
    const [{ openWorkloadContext }, { openAndRun }] = await Promise.all([import('../src/cli/workload/workload-context.js'), import('../src/cli/sessions/wrapped.js')])
    const cli = openWorkloadContext(flags.workload, flags.dir)
    try {
      const result = await openAndRun(cli, command, {
        ticket: flags.ticket, asset: flags.asset, scope: flags.scope, ttl: flags.ttl, intent: flags.intent, timeout: flags.timeout,
        reason: flags.reason ?? `jit run (${flags.workload}): ${command.join(' ')}`.slice(0, 500),
        noCache: true,
        quiet: this.jsonEnabled(),
        label: command[0],
        // A job whose access the broker ended (revoked, expired) has nothing left to do.
        stopWhenSessionEnds: true,
      })
      process.exitCode = result.exitCode
      return result
    } finally {
      await cli.close()
    }
  }
}
