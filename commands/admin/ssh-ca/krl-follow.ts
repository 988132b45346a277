import { Flags } from '@oclif/core'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminSshCaKrlFollow extends JitCommand {
  static reviewGate = false
  static summary = 'Keep an SSH host\'s RevokedKeys file current: rewritten within a second of each revocation.'
  static description = 'Runs beside a plain sshd (no gateway). Authenticates to the broker as a verifier (jit admin verifier add NAME; the token comes from --token-file or JIT_VERIFIER_TOKEN, never a flag value), writes the broker\'s KRL to --out, then follows the broker\'s revocation stream and, after every session end, fetches the KRL again and replaces the file whole (sshd never reads half of one). A lost broker is retried with backoff; the file keeps the last KRL meanwhile. Logs go to stderr; stop with Ctrl-C or SIGTERM.'
  static examples = [
    '<%= config.bin %> admin ssh-ca krl-follow --broker https://broker.plant-a:8443 --ca-file /etc/ssh/jit/broker-ca.pem --token-file /etc/jit/krl.token --out /etc/ssh/jit/revoked-keys.krl',
  ]
  static flags = {
    broker: Flags.string({ env: 'JIT_BROKER', required: true, summary: 'Broker URL, or several brokers of one plant separated by commas (the next is asked when one cannot be reached).' }),
    out: Flags.string({ required: true, summary: 'The KRL file sshd_config\'s RevokedKeys names (its folder must exist).' }),
    'token-file': Flags.string({ summary: 'File holding the verifier token (else JIT_VERIFIER_TOKEN).' }),
  }

  async run() {
    const { flags } = await this.parse(AdminSshCaKrlFollow)
    // As for the gateway: plain HTTP only to loopback, so the verifier token never crosses the network in clear.
    const { brokerList } = await import('../../../src/cli/broker-client/broker-client.js')
    const brokerUrl = brokerList(flags.broker, false).map((url) => url.href.replace(/\/+$/, '')).join(',')
    const { readVerifierToken, runKrlFollowerUntilStopped } = await import('../../../src/gateway/run.js')
    const token = readVerifierToken(flags['token-file'], process.env, 'JIT_VERIFIER_TOKEN', 'KRL follower')
    await runKrlFollowerUntilStopped({ brokerUrl, token, caFile: flags['ca-file'], out: flags.out }, async (started) => {
      if (this.jsonEnabled()) return this.logJson(started)
      const { ui } = await import('../../../src/cli/output.js')
      ui.ok(`Wrote ${started.out} (${started.bytes} bytes) from ${started.broker}; rewriting it after every session end until stopped.`)
    })
  }
}
