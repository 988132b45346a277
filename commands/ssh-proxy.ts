import { Args } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'

export default class SshProxy extends JitCommand {
  static hidden = true
  // ssh starts it for every connection: nothing before the relay, nothing on the terminal.
  static housekeeping = false
  static enableJsonFlag = false
  static summary = 'ssh\'s ProxyCommand for jit ssh through a gateway: relays stdin and stdout to the tunnel the running jit ssh holds.'
  static args = { socket: Args.string({ required: true, description: 'The tunnel socket in jit ssh\'s private folder.' }) }

  async run(): Promise<void> {
    const { args } = await this.parse(SshProxy)
    const { relayStdio } = await import('../src/cli/ssh/proxy-relay.js')
    await relayStdio(args.socket)
  }
}
