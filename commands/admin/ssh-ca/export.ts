import { Flags } from '@oclif/core'
import { databaseFlags, dataFlag, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'

export default class AdminSshCaExport extends JitCommand {
  static reviewGate = false
  static summary = 'Write the files an SSH host needs to trust jit certificates: TrustedUserCAKeys and RevokedKeys.'
  static description = 'Writes trusted-user-ca-keys.pub (the broker\'s SSH CA public keys) and revoked-keys.krl (an OpenSSH KRL of every revoked certificate that has not expired) into --out, each replaced whole. Point sshd_config at them (docs/OPERATING.md, SSH hosts); hosts can also fetch both from the broker (GET /v1/ssh/ca.pub, GET /v1/ssh/krl), and jit admin ssh-ca krl-follow keeps a host\'s KRL current.'
  static examples = ['<%= config.bin %> admin ssh-ca export --out /etc/ssh/jit --data ./broker-data']
  static flags = {
    ...dataFlag,
    ...databaseFlags,
    out: Flags.string({ required: true, summary: 'Folder to write the two files into (created if missing).' }),
  }

  async run() {
    const { flags } = await this.parse(AdminSshCaExport)
    const { exportHostFiles, requireSshCa } = await import('../../../src/broker/ssh-ca/admin.js')
    requireSshCa(flags.data)
    const result = await withStore(flags, (store) => exportHostFiles(store, flags.data, flags.out))
    if (!this.jsonEnabled()) {
      const { ui } = await import('../../../src/cli/output.js')
      ui.ok(`Wrote ${result.trustedUserCaKeys} (${result.caFingerprints.join(', ')}) and ${result.revokedKeys} (${result.revokedCertificates} revoked certificate(s)).`)
      ui.info(`In sshd_config: TrustedUserCAKeys ${result.trustedUserCaKeys} and RevokedKeys ${result.revokedKeys}`)
    }
    return result
  }
}
