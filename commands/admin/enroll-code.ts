import { Args, Flags } from '@oclif/core'
import { storeFlags, withStore } from '../../src/broker/operator.js'
import { JitCommand } from '../../src/cli/base-command.js'

export default class AdminEnrollCode extends JitCommand {
  static reviewGate = false
  static summary = 'Make a one-time enrollment code for a user\'s device. Hand it over out of band.'
  static examples = ['<%= config.bin %> admin enroll-code alice --data ./broker-data', '<%= config.bin %> admin enroll-code alice --valid 1h --data ./broker-data --json']
  static args = { user: Args.string({ required: true }) }
  static flags = { ...storeFlags, valid: Flags.string({ default: '24h', summary: 'How long the code stays usable.' }) }

  async run() {
    const { args, flags } = await this.parse(AdminEnrollCode)
    const { parseDuration } = await import('../../src/util/ttl.js')
    const validSeconds = parseDuration(flags.valid, '--valid')
    const result = await withStore(flags, (store, admin) => admin.enrollmentCode(store, args.user, validSeconds))
    if (!this.jsonEnabled()) {
      this.log(result.code)
      ;(await import('../../src/cli/output.js')).ui.info(`One-time code for ${result.user}, valid until ${result.expiresAt}: jit login --broker URL --code <code>`)
    }
    return result
  }
}
