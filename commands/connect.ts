import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { UsageError } from '../src/errors.js'

export default class Connect extends JitCommand {
  static opensSession = true
  static summary = 'A local port tunnelled to an asset through its jit gateway, for as long as a session lasts.'
  static description = 'Opens a session on ASSET (or reuses a live cached one for the same ticket and scope), listens on 127.0.0.1:--local-port and tunnels each connection to the asset through its gateway, over TLS, proving possession of this device\'s key. With -- CMD it runs the command with JIT_LOCAL_PORT set and revokes the session when the command ends, however it ends (exit code: the command\'s own). Without a command it runs until Ctrl-C, then revokes; when the session ends elsewhere (revoked, expired) it stops with exit 4 and says how. When the session ends for any other reason, the gateway cuts every connection at once.'
  static examples = [
    '<%= config.bin %> connect plant-a/line-3/cell-2/plc-07 --ticket WO-104233 --scope diagnose --local-port 1502',
    '<%= config.bin %> connect plant-a/line-3/cell-2/plc-07 --ticket WO-104233 --scope diagnose -- sh -c \'plc-tool --host 127.0.0.1 --port "$JIT_LOCAL_PORT" read-faults\'',
  ]
  static strict = false
  static args = { asset: Args.string({ required: true, description: 'Asset path, e.g. plant-a/line-3/cell-2/plc-07.' }) }
  static flags = {
    ticket: Flags.string({ required: true, env: 'JIT_TICKET', summary: 'Work order, change or incident id the work is for.' }),
    scope: Flags.string({ required: true, summary: 'What you need to do, e.g. read, diagnose, control.' }),
    ttl: Flags.string({ default: '30m', summary: 'How long the access should last (e.g. 30m, 2h).' }),
    reason: Flags.string({ summary: 'Why you need the access (default: the command line).' }),
    'local-port': Flags.integer({ default: 0, min: 0, max: 65535, summary: 'Loopback port to listen on (0: any free port, printed at start).' }),
    timeout: Flags.string({ default: '1h', summary: 'How long to wait for an approver.' }),
  }

  async run() {
    const { args, flags, argv } = await this.parse(Connect)
    // oclif puts the asset first in argv; the command is what follows it.
    const command = (argv as string[]).slice(1)
    if (command.length > 0 && command[0].startsWith('-')) throw new UsageError(`Unknown flag ${command[0]}.`, ['Put the command after --, e.g. jit connect ASSET --ticket ... -- plc-tool'])
    const { connectAndRun } = await import('../src/cli/connect/connect.js')
    const result = await connectAndRun(this.cli(flags), command, {
      asset: args.asset,
      ticket: flags.ticket,
      scope: flags.scope,
      ttl: flags.ttl,
      reason: flags.reason ?? (command.length > 0 ? `jit connect: ${command.join(' ')}` : `jit connect ${args.asset}`).slice(0, 500),
      localPort: flags['local-port'],
      timeout: flags.timeout,
      quiet: this.jsonEnabled(),
    })
    process.exitCode = result.exitCode
    return result
  }
}
