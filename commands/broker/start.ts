import { Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import { UsageError } from '../../src/errors.js'
import { databaseFlags } from '../../src/broker/operator.js'

export default class BrokerStart extends JitCommand {
  static reviewGate = false
  static summary = 'Run the broker (control plane) in the foreground.'
  static description = 'Embedded default: one process, a SQLite file and the signing key in --data. With --database, the state is in a PostgreSQL database that several brokers share (--data then holds only the key files, the same on every broker; give them one --issuer). Logs go to stderr; stop with Ctrl-C or SIGTERM.'
  static examples = [
    '<%= config.bin %> broker start --data ./broker-data --policy policy.yaml --listen 127.0.0.1:8443',
    '<%= config.bin %> broker start --data /var/lib/jit --policy /etc/jit/policy.yaml --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem',
    '<%= config.bin %> broker start --data /var/lib/jit --database postgres://jit@db.plant.example:5432/jit --database-password-file /etc/jit/db-password --issuer https://jit.plant.example --policy /etc/jit/policy.yaml --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem',
  ]
  static flags = {
    data: Flags.string({ env: 'JIT_DATA', required: true, summary: 'Data folder (created if missing): the SQLite file and the key files.' }),
    ...databaseFlags,
    policy: Flags.string({ env: 'JIT_POLICY', required: true, summary: 'Policy file (YAML).' }),
    listen: Flags.string({ env: 'JIT_LISTEN', default: '127.0.0.1:8443', summary: 'HOST:PORT to listen on (port 0 picks a free one).' }),
    'tls-cert': Flags.string({ env: 'JIT_TLS_CERT', dependsOn: ['tls-key'], summary: 'PEM certificate; with --tls-key the broker speaks HTTPS.' }),
    'tls-key': Flags.string({ env: 'JIT_TLS_KEY', dependsOn: ['tls-cert'], summary: 'PEM private key of the certificate.' }),
    'notify-webhook': Flags.string({ env: 'JIT_NOTIFY_WEBHOOK', multiple: true, summary: 'URL that gets break-glass events as a plain JSON body (repeatable).' }),
    'notify-chat-webhook': Flags.string({ env: 'JIT_NOTIFY_CHAT_WEBHOOK', multiple: true, summary: 'Slack-compatible incoming-webhook URL for break-glass events (repeatable).' }),
    issuer: Flags.string({ env: 'JIT_ISSUER', summary: 'Public URL of the broker, used as the credential issuer (default: the listen URL).' }),
    'require-notify-delivery': Flags.boolean({ env: 'JIT_REQUIRE_NOTIFY_DELIVERY', summary: 'Refuse to start when the policy\'s break-glass notify list names a target this broker cannot deliver (default: start with a warning).' }),
    'trust-domain': Flags.string({ env: 'JIT_TRUST_DOMAIN', summary: 'The SPIFFE trust domain of this broker\'s workloads (default jit.local); their IDs are spiffe://DOMAIN/workload/NAME.' }),
    'heartbeat-grace': Flags.string({ env: 'JIT_HEARTBEAT_GRACE', default: '60s', summary: 'Revoke a jit exec / jit shell session this long after its heartbeats stop (e.g. 30s, 2m).' }),
  }

  async run() {
    const { flags } = await this.parse(BrokerStart)
    const match = /^(.*):(\d{1,5})$/.exec(flags.listen)
    if (!match || Number(match[2]) > 65535) throw new UsageError(`--listen "${flags.listen}" is not HOST:PORT.`)
    const { parseDuration } = await import('../../src/util/ttl.js')
    const heartbeatGraceSeconds = parseDuration(flags['heartbeat-grace'], '--heartbeat-grace')
    if (heartbeatGraceSeconds < 1 || heartbeatGraceSeconds > 3600) throw new UsageError('--heartbeat-grace must be between 1s and 1h.')
    const { runBrokerUntilStopped } = await import('../../src/broker/run.js')
    await runBrokerUntilStopped({
      dataDir: flags.data,
      database: flags.database,
      databasePasswordFile: flags['database-password-file'],
      policyFile: flags.policy,
      host: match[1].replace(/^\[|\]$/g, ''),
      port: Number(match[2]),
      tlsCert: flags['tls-cert'],
      tlsKey: flags['tls-key'],
      issuer: flags.issuer,
      trustDomain: flags['trust-domain'],
      webhooks: [
        ...(flags['notify-webhook'] ?? []).map((url) => ({ url: checkWebhook(url), style: 'json' as const })),
        ...(flags['notify-chat-webhook'] ?? []).map((url) => ({ url: checkWebhook(url), style: 'chat' as const })),
      ],
      heartbeatGraceSeconds,
      requireNotifyDelivery: flags['require-notify-delivery'],
    }, (url) => (this.jsonEnabled() ? this.logJson({ url }) : process.stdout.write(`${url}\n`)))
  }
}

function checkWebhook(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.protocol === 'https:' || parsed.protocol === 'http:') return url
  } catch {
    // fall through to the usage error
  }
  throw new UsageError(`Webhook "${url}" is not an http(s) URL.`)
}
