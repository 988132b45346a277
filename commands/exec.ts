import { Flags } from '@oclif/core'
import { accessFlags } from '../src/cli/access-flags.js'
import { JitCommand } from '../src/cli/base-command.js'
import { UsageError } from '../src/errors.js'

export default class Exec extends JitCommand {
  static opensSession = true
  static summary = 'Open a session, run a command with its credential, revoke when the command ends.'
  static description = 'The command gets JIT_TOKEN, JIT_SESSION_ID, JIT_ASSET, JIT_SCOPE, JIT_TICKET and JIT_EXPIRES_AT. jit exits with the command\'s own code (128+N if it died of signal N); the session is revoked however the command ends. Signals sent to jit go to the command first. While it runs, jit sends heartbeats: if jit is killed outright, the broker revokes the session after its grace period.'
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
    const { openAndRun } = await import('../src/cli/sessions/wrapped.js')
    const result = await openAndRun(this.cli(flags), command, {
      ...flags,
      reason: flags.reason ?? `jit exec: ${command.join(' ')}`.slice(0, 500),
      noCache: flags['no-cache'],
      quiet: this.jsonEnabled(),
      label: command[0],
    })
    process.exitCode = result.exitCode
    return result
  }
}
