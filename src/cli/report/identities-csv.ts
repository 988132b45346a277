// `jit report identities --csv`: one identity a line, lists joined with ";".
import type { IdentityReport } from '../../wire/reports.js'

const CSV_COLUMNS = ['kind', 'id', 'owner', 'state', 'created', 'last_used', 'key_created', 'flags', 'reach', 'holds'] as const

export function identitiesCsv(report: IdentityReport): string {
  const field = (value: string | null) => {
    const text = value ?? ''
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
  }
  const lines = [CSV_COLUMNS.join(',')]
  for (const i of report.identities) {
    const reach = i.reach.map((r) => `${r.rule}:${r.scopes.join('|')}@${r.assets.join('|')}${r.moreAssets ? `|+${r.moreAssets}` : ''}`).join(';')
    const holds = i.holds.map((h) => `${h.session}:${h.scope}@${h.asset}`).join(';')
    lines.push([i.kind, i.id, i.owner, i.state, i.created, i.lastUsed, i.keyCreated, i.flags.join(';'), reach, holds].map(field).join(','))
  }
  return `${lines.join('\n')}\n`
}
