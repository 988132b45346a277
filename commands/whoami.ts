import { JitCommand } from '../src/cli/base-command.js'
import type { WhoAmI } from '../src/wire/api.js'

export default class Whoami extends JitCommand {
  static summary = 'Show who this device is enrolled as, and with which broker.'
  static examples = ['<%= config.bin %> whoami', '<%= config.bin %> whoami --json']

  async run(): Promise<WhoAmI & { broker: string }> {
    const { flags } = await this.parse(Whoami)
    const cli = this.cli(flags)
    const me = await (await cli.client()).get<WhoAmI>('/whoami')
    this.log(`${me.user} (${me.roles.join(', ')}${me.org ? `, ${me.org}` : ''}) on ${cli.brokerUrl}, device ${me.deviceName} [${me.deviceId}]`)
    return { ...me, broker: cli.brokerUrl }
  }
}
