import { Args } from '@oclif/core'
import { storeFlags, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminVerifierAdd extends JitCommand {
  static reviewGate = false
  static summary = 'Register a verifier (gateway, jump host) and print its introspection token once.'
  static examples = ['<%= config.bin %> admin verifier add gateway-line-3 --data ./broker-data']
  static args = { name: Args.string({ required: true }) }
  static flags = { ...storeFlags }

  async run() {
    const { args, flags } = await this.parse(AdminVerifierAdd)
    const result = await withStore(flags, (store, admin) => admin.addVerifier(store, args.name))
    if (!this.jsonEnabled()) {
      this.log(result.token)
      ;(await import('../../../src/cli/output.js')).ui.info(`Verifier ${result.name}: send this token as "Authorization: Bearer <token>" to /v1/introspect. It is shown only now.`)
    }
    return result
  }
}
