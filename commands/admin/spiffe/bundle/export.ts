import { Flags } from '@oclif/core'
import { dataFlag } from '../../../../src/broker/operator.js'
import { JitCommand } from '../../../../src/cli/base-command.js'

export default class AdminSpiffeBundleExport extends JitCommand {
  static reviewGate = false
  static summary = 'Write the broker\'s SPIFFE trust bundle: the CA that signs X.509-SVIDs and the key that signs JWT-SVIDs.'
  static description = 'From the broker data folder\'s key files (the same on every broker of a database). --format spiffe (default) writes the SPIFFE bundle (a JWK set with x509-svid and jwt-svid keys), as GET /v1/spiffe/bundle serves it; --format pem writes the CA certificate, the CA file a TLS server (Mosquitto cafile, PostgreSQL ssl_ca_file, openssl verify -CAfile) needs to accept X.509-SVIDs as client certificates.'
  static examples = ['<%= config.bin %> admin spiffe bundle export --data /var/lib/jit --format pem --out /etc/mosquitto/jit-ca.pem', '<%= config.bin %> admin spiffe bundle export --data /var/lib/jit > bundle.json']
  static flags = {
    ...dataFlag,
    out: Flags.string({ summary: 'Write to this file (replaced whole) instead of stdout.' }),
    format: Flags.string({ options: ['spiffe', 'pem'], default: 'spiffe', summary: 'spiffe (the SPIFFE bundle, JSON) or pem (the CA certificate).' }),
  }

  async run() {
    const { flags } = await this.parse(AdminSpiffeBundleExport)
    const { exportBundle } = await import('../../../../src/broker/spiffe/admin.js')
    const exported = exportBundle(flags.data, flags.format as 'spiffe' | 'pem')
    if (flags.out) {
      const [{ replaceFile }, { UsageError }] = await Promise.all([import('../../../../src/util/replace-file.js'), import('../../../../src/errors.js')])
      try {
        replaceFile(flags.out, exported.text)
      } catch (error) {
        throw new UsageError(`Cannot write ${flags.out} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, ['Check that its folder exists and is writable.'])
      }
      if (!this.jsonEnabled()) {
        const { ui } = await import('../../../../src/cli/output.js')
        ui.ok(`Wrote the ${exported.format === 'pem' ? 'CA certificate' : 'SPIFFE bundle'} of trust domain ${exported.trustDomain} to ${flags.out}.`)
      }
      return { trustDomain: exported.trustDomain, format: exported.format, out: flags.out }
    }
    if (!this.jsonEnabled()) process.stdout.write(exported.text)
    return { trustDomain: exported.trustDomain, format: exported.format, bundle: exported.format === 'pem' ? exported.text : JSON.parse(exported.text) }
  }
}
