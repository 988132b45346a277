import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'

export default class WorkloadEnroll extends JitCommand {
  static reviewGate = false
  static summary = 'Enroll a workload on this host with its one-time join token: its key pair is made here and kept in a folder only this user can read.'
  static description = 'Run it as the workload\'s own user. The private key goes to key.pem (0600) in the workload folder (0700): --dir, JIT_WORKLOAD_DIR, or workloads/NAME in jit\'s configuration folder. The token is read from a file or stdin, never from the command line.'
  static examples = ['<%= config.bin %> workload enroll fw-updater --broker https://jit.plant-a.example:8443 --token-file /run/secrets/join-token', 'echo "$TOKEN" | <%= config.bin %> workload enroll fw-updater --broker https://jit.plant-a.example:8443 --token-file -']
  static args = { name: Args.string({ required: true }) }
  static flags = {
    'token-file': Flags.string({ summary: 'File holding the join token, or - for stdin (else JIT_JOIN_TOKEN).' }),
    dir: Flags.string({ summary: 'The workload folder (default: JIT_WORKLOAD_DIR, else workloads/NAME in jit\'s configuration folder).' }),
  }

  async run() {
    const { args, flags } = await this.parse(WorkloadEnroll)
    const { UsageError } = await import('../../src/errors.js')
    if (!flags.broker) throw new UsageError('Name the broker: --broker URL (or JIT_BROKER).')
    const { enrollWorkload } = await import('../../src/cli/workload/enroll.js')
    const result = await enrollWorkload({ name: args.name, broker: flags.broker, tokenFile: flags['token-file'], dir: flags.dir, caFile: flags['ca-file'], insecure: flags.insecure })
    if (!this.jsonEnabled()) (await import('../../src/cli/output.js')).ui.ok(`Enrolled ${result.workload} (${result.spiffeId}); its key is in ${result.folder}. Run jobs with: jit run --workload ${result.workload} ...`)
    return result
  }
}
