import { Flags } from '@oclif/core'
import { accessFlags } from '../src/cli/access-flags.js'
import { JitCommand } from '../src/cli/base-command.js'
import { UsageError } from '../src/errors.js'

export default class Exec extends JitCommand {
  static summary = 'Open a session, run a command with its credential, revoke when the command ends.'
  static description = 'The command gets JIT_TOKEN, JIT_SESSION_ID, JIT_ASSET, JIT_SCOPE, JIT_TICKET and JIT_EXPIRES_AT. jit exits with the command\'s own code (128+N if it died of signal N); the session is revoked however the command ends.'
  static examples = [
    '<%= config.bin %> exec --ticket WO-104233 --asset plant-a/line-3/cell-2/plc-07 --scope diagnose --reason "read fault log" -- plc-tool read-faults',
    '<%= config.bin %> exec --ticket WO-104233 --asset plant-a/line-3/cell-2/plc-07 --scope diagnose --no-cache -- sh -c \'curl -H "Authorization: Bearer $JIT_TOKEN" ...\'',
  ]
  static strict = false
  static flags = {
    ...accessFlags,
    reason: Flags.string({ summary: 'Why you need the access (default: the command line).' }),
    'no-cache': Flags.boolean({ summary: 'Keep the credential in memory only, never in the keychain.' }),
    timeout: Flags.string({ default: '1h', summary: 'How long to wait for an approver.' }),
  }

  async run() {
    const { flags, argv } = await this.parse(Exec)
    const command = argv as string[]
    if (command.length === 0) throw new UsageError('No command to run.', ['Put it after --, e.g. jit exec --ticket ... -- plc-tool status'])
    const cli = this.cli(flags)
    const [{ requestAccess }, { runWithCredential }, { ui, spinner }, { parseDuration }] = await Promise.all([
      import('../src/sessions/request-access.js'),
      import('../src/sessions/run-with-credential.js'),
      import('../src/cli/output.js'),
      import('../src/util/ttl.js'),
    ])
    let wait: ReturnType<typeof spinner> | undefined
    const { grant } = await requestAccess(cli, { ...flags, reason: flags.reason ?? `jit exec: ${command.join(' ')}`.slice(0, 500) }, {
      timeoutSeconds: parseDuration(flags.timeout, 'timeout'),
      onPending: ({ request }) => {
        wait = spinner(`Waiting for approval of ${request.id}; Ctrl-C cancels`)
      },
      onDone: () => wait?.stop(),
    })
    const quiet = this.jsonEnabled()
    const result = await runWithCredential(cli, grant!, command, {
      cache: !flags['no-cache'],
      onStarted: () => quiet || ui.info(`Session ${grant!.session.id} open (${grant!.session.scope} on ${grant!.session.asset}); running ${command[0]}`),
    })
    if (!quiet) {
      if (result.revoked) ui.ok(`Revoked session ${result.sessionId}; ${command[0]} ${result.signal ? `died of ${result.signal}` : `exited ${result.exitCode}`}.`)
      if (result.revocationPending) ui.warn(`Broker unreachable: revocation of ${result.sessionId} is queued and will be retried on the next jit run.`)
    }
    process.exitCode = result.exitCode
    return result
  }
}
