import { Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import { JitError } from '../../src/errors.js'
import type { AuditVerifyResult } from '../../src/wire/api.js'

export default class AuditVerify extends JitCommand {
  static reviewGate = false
  static summary = 'Check the audit log\'s hash chain; names the first edited, deleted or reordered record.'
  static description = 'Asks the broker, or with --data reads a broker data folder directly (on the broker host, also when it is down). Exits 1 when the chain is broken.'
  static examples = ['<%= config.bin %> audit verify', '<%= config.bin %> audit verify --data /var/lib/jit']
  static flags = { data: Flags.string({ env: 'JIT_DATA', summary: 'Verify this broker data folder directly.' }) }

  async run(): Promise<AuditVerifyResult> {
    const { flags } = await this.parse(AuditVerify)
    const { verifyAudit } = await import('../../src/broker/audit-verify.js')
    const result = flags.data ? await verifyAudit(flags.data) : await (await this.cli(flags).client()).get<AuditVerifyResult>('/audit/verify')
    if (!result.ok) {
      throw new JitError(`Audit chain broken at record ${result.firstBad!.seq}: ${result.firstBad!.problem}.`, ['Treat the log after this point as untrusted and investigate who had write access to the store.'], { ...result })
    }
    if (!this.jsonEnabled()) (await import('../../src/cli/output.js')).ui.ok(`Audit chain intact: ${result.events} records.`)
    return result
  }
}
