import { Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import type { AuditEvent } from '../../src/wire/api.js'

export default class Audit extends JitCommand {
  static summary = 'List audit events: mine, or one session\'s story (admins and security see everything).'
  static examples = ['<%= config.bin %> audit --session ses_4f...', '<%= config.bin %> audit --since 1h', '<%= config.bin %> audit --workload fw-updater', '<%= config.bin %> audit --since 2026-11-01T00:00:00Z --json']
  static flags = {
    session: Flags.string({ summary: 'Only events of this session (and its request).' }),
    workload: Flags.string({ summary: 'Only events of this workload: its enrollment, requests, sessions (issued, verified, ended). Its owner, admins and security.' }),
    since: Flags.string({ summary: 'Only events since then: a duration back from now (30m, 1h, 2d) or an ISO time (2026-11-01T06:00:00Z).' }),
    limit: Flags.integer({ default: 1000, min: 1, max: 10000 }),
  }

  async run(): Promise<{ events: AuditEvent[] }> {
    const { flags } = await this.parse(Audit)
    // Checked before anything else: a since nobody can read must not silently list everything.
    const since = flags.since === undefined ? undefined : (await import('../../src/util/since.js')).parseSince(flags.since)
    const query = new URLSearchParams({ limit: String(flags.limit) })
    if (flags.session) query.set('session', flags.session)
    if (flags.workload) query.set('workload', flags.workload)
    if (since) query.set('since', since)
    const { events } = await (await this.cli(flags).client()).get<{ events: AuditEvent[] }>(`/audit?${query}`)
    if (!this.jsonEnabled()) {
      const { table } = await import('../../src/cli/output.js')
      this.log(await table(['#', 'at', 'event', 'actor', 'details'], events.map((e) => [e.seq, e.at.replace('T', ' ').slice(0, 19), e.severity === 'high' ? `${e.type} (HIGH)` : e.type, e.actor, summarize(e.data)])))
    }
    return { events }
  }
}

function summarize(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('; ') : typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(' ')
    .slice(0, 120)
}
