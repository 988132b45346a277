import { Flags } from '@oclif/core'
import { databaseFlags, dataFlag, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminSshCaRotate extends JitCommand {
  static reviewGate = false
  static summary = 'Rotate the broker\'s SSH CA key in two steps: announce the next key, then activate it.'
  static description = 'Without --activate: makes the next key and publishes it beside the current one (/v1/ssh/ca.pub, jit admin ssh-ca export); it signs nothing yet. Once every host has fetched the new TrustedUserCAKeys, --activate makes it sign (a running broker picks it up without a restart); the old key stays published until its last certificate expires, so no host refuses a valid certificate at any point. Activating again while the key rotated out before still has live certificates is refused (exit 2).'
  static examples = ['<%= config.bin %> admin ssh-ca rotate --data ./broker-data', '<%= config.bin %> admin ssh-ca rotate --activate --data ./broker-data']
  static flags = {
    ...dataFlag,
    ...databaseFlags,
    activate: Flags.boolean({ summary: 'Make the announced next key the signing key.' }),
  }

  async run() {
    const { flags } = await this.parse(AdminSshCaRotate)
    const [rotation, { OPERATOR }] = await Promise.all([import('../../../src/broker/ssh-ca/admin.js'), import('../../../src/broker/admin.js')])
    rotation.requireSshCa(flags.data)
    const result = await withStore(flags, (store) => (flags.activate ? rotation.activateNextCaKey(store, flags.data, OPERATOR) : rotation.announceNextCaKey(store, flags.data, OPERATOR)))
    if (!this.jsonEnabled()) {
      const { ui } = await import('../../../src/cli/output.js')
      if (result.step === 'announced') {
        ui.ok(`Next SSH CA key ${result.next} is published beside ${result.current}; it signs nothing yet.`)
        ui.info('Refresh TrustedUserCAKeys on every host (jit admin ssh-ca export, or GET /v1/ssh/ca.pub), then: jit admin ssh-ca rotate --activate')
      } else {
        ui.ok(`SSH CA key ${result.current} signs from now on; ${result.previous} ${result.previousTrustedUntil ? `stays published until ${result.previousTrustedUntil}` : 'signed no live certificate and is no longer published'}.`)
      }
    }
    return result
  }
}
