import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'

export default class Ssh extends JitCommand {
  static opensSession = true
  static summary = 'Log in to an asset with OpenSSH and a short-lived certificate from the broker.'
  static description = 'With --ticket and --scope, jit opens a session (like jit exec: heartbeats while ssh runs, revoked however ssh ends). Without them it uses an active session of this device on the asset and leaves it open. jit makes an Ed25519 key in memory, has the broker certify it (key id = session id, principals from the asset, valid no longer than the session) and runs ssh with the certificate offered by an agent of jit\'s own: no key or certificate file is written. The host and user come from the asset\'s ssh attributes (--login picks another principal). When the asset has a gateway, ssh reaches the host only through it (over the tunnel of jit connect, relayed by ssh\'s ProxyCommand; the host key is still checked under the asset\'s ssh host name), so ending the session, from anywhere, closes the connection at once. jit exits with ssh\'s exit code (the remote command\'s, or 255 when ssh failed or the connection was cut).'
  static examples = [
    '<%= config.bin %> ssh plant-a/line-3/cell-2/jump-01 --ticket WO-104233 --scope diagnose -- journalctl -u plc-bridge -n 50',
    '<%= config.bin %> ssh plant-a/line-3/cell-2/jump-01 --ticket WO-104233 --scope control',
    '<%= config.bin %> ssh plant-a/line-3/cell-2/jump-01 -o StrictHostKeyChecking=accept-new -- uptime',
  ]
  static strict = false
  static args = { asset: Args.string({ required: true, description: 'Asset path, e.g. plant-a/line-3/cell-2/jump-01.' }) }
  static flags = {
    // No JIT_TICKET twin: inside jit exec it is set, and it must not turn a borrowed session into a new one.
    ticket: Flags.string({ dependsOn: ['scope'], summary: 'Open a new session for this work order (with --scope).' }),
    scope: Flags.string({ dependsOn: ['ticket'], summary: 'What you need to do, e.g. diagnose, control (with --ticket).' }),
    ttl: Flags.string({ default: '30m', summary: 'How long a new session should last (e.g. 30m, 2h).' }),
    reason: Flags.string({ summary: 'Why you need the access (default: the remote command).' }),
    timeout: Flags.string({ default: '1h', summary: 'How long to wait for an approver.' }),
    login: Flags.string({ char: 'l', summary: 'Remote user (default: the asset\'s first SSH principal).' }),
    'ssh-option': Flags.string({ char: 'o', multiple: true, summary: 'An ssh -o option, e.g. StrictHostKeyChecking=accept-new.' }),
  }

  async run() {
    const { args, flags, argv } = await this.parse(Ssh)
    // argv holds the asset too (non-strict parsing); what follows it is the remote command.
    const command = (argv as string[]).slice(1)
    const { runSsh } = await import('../src/cli/ssh/run-ssh.js')
    const result = await runSsh(this.cli(flags), {
      asset: args.asset,
      ticket: flags.ticket,
      scope: flags.scope,
      ttl: flags.ttl,
      reason: flags.reason,
      timeout: flags.timeout,
      login: flags.login,
      sshOptions: flags['ssh-option'] ?? [],
      command,
      quiet: this.jsonEnabled(),
    })
    process.exitCode = result.exitCode
    return result
  }
}
