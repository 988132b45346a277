// What the person who broke the glass is told about who heard of it: only what the broker says
// it delivered is called "notified"; queued webhooks are called queued; the rest is said plainly.
import type { NotificationOutcome } from '../../wire/api.js'

export function notificationSummary(outcomes: NotificationOutcome[] = []): { told: string[]; missed: string[] } {
  const told: string[] = []
  const missed: string[] = []
  const delivered = outcomes.filter((o) => o.status === 'delivered')
  const queued = outcomes.filter((o) => o.status === 'queued')
  const lost = outcomes.filter((o) => o.status === 'undeliverable')
  if (delivered.length > 0) told.push(`Notified: ${delivered.map((o) => `${o.target}${o.via ? ` (in ${o.via})` : ''}`).join(', ')}.`)
  if (queued.length > 0) told.push(`Queued for delivery, retried until accepted: ${queued.map((o) => o.target).join(', ')}.`)
  for (const o of lost) missed.push(`NOT notified: ${o.target}${o.detail ? ` (${o.detail})` : ''}.`)
  if (delivered.length === 0 && queued.length === 0) missed.push('Nobody has been notified by jit: tell security yourself.')
  return { told, missed }
}
