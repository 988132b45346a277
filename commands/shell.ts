import { Flags } from '@oclif/core'
import { accessFlags } from '../src/cli/access-flags.js'
import { JitCommand } from '../src/cli/base-command.js'

export default class Shell extends JitCommand {
  static opensSession = true
  static summary = 'Open a session and a subshell with its credential; revoke when the subshell exits.'
  static description = 'The subshell ($SHELL, else /bin/sh) gets JIT_TOKEN, JIT_SESSION_ID, JIT_ASSET, JIT_SCOPE, JIT_TICKET and JIT_EXPIRES_AT. Leave it with exit (or Ctrl-D); closing the terminal also ends the session. jit exits with the shell\'s exit code.'
  static examples = [
    '<%= config.bin %> shell --ticket WO-104233 --asset plant-a/line-3/cell-2/plc-07 --scope diagnose --reason "trace the E42 fault"',
    'SHELL=/bin/bash <%= config.bin %> shell --ticket WO-104233 --asset plant-a/line-3/cell-2/plc-07 --scope diagnose --no-cache',
  ]
  static flags = {
    ...accessFlags,
    reason: Flags.string({ summary: 'Why you need the access (default: "jit shell").' }),
    'no-cache': Flags.boolean({ summary: 'Keep the credential in memory only, never in the keychain.' }),
    timeout: Flags.string({ default: '1h', summary: 'How long to wait for an approver.' }),
  }

  async run() {
    const { flags } = await this.parse(Shell)
    const [{ openAndRun }, { userShell }] = await Promise.all([import('../src/cli/sessions/wrapped.js'), import('../src/cli/sessions/run-with-credential.js')])
    const result = await openAndRun(this.cli(flags), userShell(), {
      ...flags,
      reason: flags.reason ?? 'jit shell',
      noCache: flags['no-cache'],
      quiet: this.jsonEnabled(),
      label: 'the subshell',
      hint: 'Type exit to end the session.',
    })
    process.exitCode = result.exitCode
    return result
  }
}
