import { dataFlag, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminSshCaRotate extends JitCommand {
  static reviewGate = false
  static summary = 'Replace the broker\'s SSH CA key; the old key stays published until its last certificate expires.'
  static description = 'The new key signs from the next certificate on (a running broker picks it up without a restart). /v1/ssh/ca.pub and jit admin ssh-ca export list both keys while certificates of the old one live; hosts must fetch the new TrustedUserCAKeys before they can accept new certificates. A second rotation during that overlap is refused (exit 2).'
  static examples = ['<%= config.bin %> admin ssh-ca rotate --data ./broker-data']
  static flags = { ...dataFlag }

  async run() {
    const { flags } = await this.parse(AdminSshCaRotate)
    const [{ requireSshCa, rotateCa }, { OPERATOR }] = await Promise.all([import('../../../src/broker/ssh-ca/host-files.js'), import('../../../src/broker/admin.js')])
    requireSshCa(flags.data)
    const result = await withStore(flags.data, (store) => rotateCa(store, OPERATOR))
    if (!this.jsonEnabled()) {
      const { ui } = await import('../../../src/cli/output.js')
      ui.ok(`New SSH CA key ${result.current}; the previous key ${result.previous} ${result.previousTrustedUntil ? `stays trusted until ${result.previousTrustedUntil}` : 'signed no live certificate and is no longer published'}.`)
      ui.info('Refresh TrustedUserCAKeys on every host now (jit admin ssh-ca export, or GET /v1/ssh/ca.pub).')
    }
    return result
  }
}
