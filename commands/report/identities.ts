import { Flags } from '@oclif/core'
import { databaseFlags } from '../../src/broker/operator.js'
import { JitCommand } from '../../src/cli/base-command.js'
import { UsageError } from '../../src/errors.js'
import type { IdentityReport } from '../../src/wire/reports.js'

export default class ReportIdentities extends JitCommand {
  static reviewGate = false
  static summary = 'List every identity jit knows (people, devices, verifiers, gateways, the broker\'s keys) with owner, created, last used, reach without approval, holdings and flags.'
  static description = [
    'Through the broker (admin or security), or with --data on the broker host (with --database, from that PostgreSQL database; --policy names the policy file, else reach is not evaluated).',
    'Flags: never-used, unused (not used for --unused-days), owner-disabled, old-key (key or token older than --key-days), standing (grants without a time limit: verifier and gateway tokens, renewed sessions).',
  ].join(' ')
  static examples = ['<%= config.bin %> report identities', '<%= config.bin %> report identities --csv > identities.csv', '<%= config.bin %> report identities --data /var/lib/jit --policy /etc/jit/policy.yaml --json']
  static flags = {
    'unused-days': Flags.integer({ default: 30, min: 1, max: 36500, summary: 'Flag identities not used for this many days.' }),
    'key-days': Flags.integer({ default: 365, min: 1, max: 36500, summary: 'Flag keys and tokens older than this many days.' }),
    csv: Flags.boolean({ summary: 'Write CSV (one identity a line) instead of a table.', exclusive: ['json'] }),
    data: Flags.string({ env: 'JIT_DATA', summary: 'Read this broker data folder directly (on the broker host).' }),
    policy: Flags.string({ dependsOn: ['data'], summary: 'With --data: the broker\'s policy file, to say what each person can reach without approval.' }),
    ...databaseFlags,
  }

  async run(): Promise<IdentityReport> {
    const { flags } = await this.parse(ReportIdentities)
    if (flags.database && !flags.data) throw new UsageError('--database needs --data: the folder of the broker\'s keys.')
    let report: IdentityReport
    if (flags.data) {
      const { identitiesFromData } = await import('../../src/broker/reports/report-data.js')
      report = await identitiesFromData({ dataDir: flags.data, database: flags.database, passwordFile: flags['database-password-file'] }, { unusedDays: flags['unused-days'], keyDays: flags['key-days'], policyFile: flags.policy })
    } else {
      report = await (await this.cli(flags).client()).get<IdentityReport>(`/reports/identities?unusedDays=${flags['unused-days']}&keyDays=${flags['key-days']}`)
    }
    if (flags.csv) {
      const { identitiesCsv } = await import('../../src/cli/report/identities-csv.js')
      process.stdout.write(identitiesCsv(report))
    } else if (!this.jsonEnabled()) {
      const { table, ui } = await import('../../src/cli/output.js')
      this.log(await table(['kind', 'identity', 'owner', 'state', 'created', 'last used', 'flags', 'reach', 'holds'], report.identities.map((i) => [
        i.kind, i.id, i.owner ?? '', i.state, day(i.created), day(i.lastUsed) || 'never', i.flags.join(' '),
        i.reach.map((r) => `${r.rule} (${r.assets.length + r.moreAssets} assets)`).join('; '), i.holds.map((h) => `${h.scope}@${h.asset}`).join('; '),
      ])))
      if (!report.reachEvaluated) ui.warn('Reach not evaluated: give --policy FILE with --data.')
    }
    return report
  }
}

const day = (at: string | null) => (at ?? '').slice(0, 10)
