import { JitCommand } from '../src/cli/base-command.js'
import { versionReport, type VersionReport } from '../src/cli/version-report.js'

export default class Version extends JitCommand {
  // Reports; retries nothing and asks nothing first.
  static housekeeping = false
  static reviewGate = false
  static summary = 'Show this jit\'s version and build, the keychain it found, and whether the profile\'s broker runs a compatible version.'
  static examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']

  async run(): Promise<VersionReport> {
    const { flags } = await this.parse(Version)
    const report = await versionReport(this.cli(flags))
    const { keychain: k, broker: b } = report
    this.log(`jit ${report.version} (commit ${report.commit})`)
    this.log(`platform  ${report.platform}, Node ${report.node}${report.singleExecutable ? ' inside this single executable' : ''}`)
    this.log(`keychain  ${k.backend}: ${k.state}${k.detail ? ` (${k.detail})` : ''}`)
    this.log(`broker    ${b.url ? `${b.url}: ` : ''}${b.state}${b.version ? ` (broker ${b.version})` : ''}${b.detail ? ` (${b.detail})` : ''}`)
    return report
  }
}
