import { Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import { UsageError } from '../../src/errors.js'

export default class GatewayStart extends JitCommand {
  static reviewGate = false
  static summary = 'Run a gateway in front of plant assets: every tunnelled connection proves a live session, and is cut the moment the session ends.'
  static description = 'The gateway authenticates to the broker as a verifier (jit admin verifier add NAME; the token comes from --token-file or JIT_GATEWAY_TOKEN, never a flag value). It fronts the assets whose attributes say gateway: NAME and endpoint: HOST:PORT, follows the broker\'s revocation stream, and announces its address and certificate to the broker so jit connect can find and pin it. The record of each connection is kept in --data from the moment it is admitted until the broker has it (a gateway killed mid-connection sends what it owed when it starts again). Logs go to stderr; stop with Ctrl-C or SIGTERM (every open connection closes).'
  static examples = [
    'JIT_GATEWAY_TOKEN=... <%= config.bin %> gateway start --broker https://broker.plant-a:8443 --listen 0.0.0.0:7443 --name gw-line-3 --tls-cert gw.pem --tls-key gw-key.pem',
    '<%= config.bin %> gateway start --broker https://broker.plant-a:8443 --listen 0.0.0.0:7443 --name gw-line-3 --token-file /etc/jit/gw.token --tls-cert gw.pem --tls-key gw-key.pem --data /var/lib/jit/gateway --recordings /var/lib/jit/recordings --strict',
  ]
  static flags = {
    broker: Flags.string({ env: 'JIT_BROKER', required: true, summary: 'Broker URL, or several brokers of one plant separated by commas (the next is asked when one cannot be reached).' }),
    listen: Flags.string({ env: 'JIT_GATEWAY_LISTEN', default: '127.0.0.1:7443', summary: 'HOST:PORT to listen on (port 0 picks a free one).' }),
    name: Flags.string({ env: 'JIT_GATEWAY_NAME', required: true, summary: 'This gateway\'s name: its verifier name, and the `gateway` attribute of the assets it fronts.' }),
    'token-file': Flags.string({ summary: 'File holding the verifier token (else JIT_GATEWAY_TOKEN).' }),
    'tls-cert': Flags.string({ env: 'JIT_GATEWAY_TLS_CERT', required: true, summary: 'PEM certificate the gateway presents (jit connect pins it through the broker).' }),
    'tls-key': Flags.string({ env: 'JIT_GATEWAY_TLS_KEY', required: true, summary: 'PEM private key of the certificate.' }),
    advertise: Flags.string({ summary: 'HOST:PORT clients use to reach this gateway (default: the listen address).' }),
    data: Flags.string({ env: 'JIT_GATEWAY_DATA', summary: 'The gateway\'s own folder (created if missing): the record of each connection until the broker has it. Default: $XDG_STATE_HOME/jit/gateway/NAME (~/.local/state/jit/gateway/NAME).' }),
    recordings: Flags.string({ env: 'JIT_GATEWAY_RECORDINGS', summary: 'Keep the byte stream of every connection here (and an asciicast file for terminal assets).' }),
    'stale-after': Flags.string({ default: '30s', summary: 'Refuse new connections when the revocation stream has been lost this long.' }),
    strict: Flags.boolean({ summary: 'Also close open connections when the revocation stream is stale.' }),
  }

  async run() {
    const { flags } = await this.parse(GatewayStart)
    const match = /^(.*):(\d{1,5})$/.exec(flags.listen)
    if (!match || Number(match[2]) > 65535) throw new UsageError(`--listen "${flags.listen}" is not HOST:PORT.`)
    if (flags.advertise && !/^.+:\d{1,5}$/.test(flags.advertise)) throw new UsageError(`--advertise "${flags.advertise}" is not HOST:PORT.`)
    // The CLI's own rule: plain HTTP only to loopback (127.0.0.0/8, ::1), so the verifier token
    // never crosses the plant network in clear text; several brokers separated by commas.
    const { brokerList } = await import('../../src/cli/broker-client/broker-client.js')
    const brokerUrl = brokerList(flags.broker, false).map((url) => url.href.replace(/\/+$/, '')).join(',')
    const { parseDuration } = await import('../../src/util/ttl.js')
    const staleAfterSeconds = parseDuration(flags['stale-after'], '--stale-after')
    if (staleAfterSeconds < 1 || staleAfterSeconds > 3600) throw new UsageError('--stale-after must be between 1s and 1h.')
    const { defaultGatewayDataDir, readVerifierToken, runGatewayUntilStopped } = await import('../../src/gateway/run.js')
    await runGatewayUntilStopped({
      brokerUrl,
      token: readVerifierToken(flags['token-file']),
      name: flags.name,
      host: match[1].replace(/^\[|\]$/g, ''),
      port: Number(match[2]),
      tlsCert: flags['tls-cert'],
      tlsKey: flags['tls-key'],
      advertise: flags.advertise,
      caFile: flags['ca-file'],
      recordings: flags.recordings,
      dataDir: flags.data ?? defaultGatewayDataDir(flags.name),
      staleAfterMs: staleAfterSeconds * 1000,
      strict: flags.strict,
    }, (address) => (this.jsonEnabled() ? this.logJson({ address }) : process.stdout.write(`${address}\n`)))
  }
}
