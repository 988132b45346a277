// Who really hears of a break-glass event. For each target the policy names, the channel that
// delivers it, or why none does, so that nobody is told "security has been notified" when
// nothing was sent:
//   role:NAME    the broker's own inbox, `jit reviews`, for roles that read every review
//                (security, admin), and only while someone holds the role;
//   https://...  a JSON webhook the broker posts to (queued, retried, each attempt audited);
//   mailto:...   nothing: this broker sends no mail.
// Webhooks given at start (--notify-webhook, --notify-chat-webhook) get every event besides.
import type { NotificationOutcome } from '../../wire/api.js'
/** A webhook given at start, as the notifier has it. */
interface WebhookTarget {
  url: string
  style: string
}

/** Roles that see every review in `jit reviews` (see listReviews). */
export const INBOX_ROLES = ['security', 'admin']

export interface TargetPlan {
  target: string
  /** What delivers it; undefined when nothing can. */
  via?: 'jit reviews' | 'webhook'
  /** Why nothing delivers it, in words for the operator. */
  problem?: string
}

export function planTarget(target: string): TargetPlan {
  const role = /^role:(.+)$/.exec(target)?.[1]
  if (role !== undefined) {
    return INBOX_ROLES.includes(role)
      ? { target, via: 'jit reviews' }
      : { target, problem: `the broker delivers role targets only to roles that read jit reviews (${INBOX_ROLES.join(', ')}); nothing reaches role ${role}` }
  }
  if (/^https?:\/\//.test(target)) return { target, via: 'webhook' }
  if (target.startsWith('mailto:')) return { target, problem: 'this broker sends no mail; name a webhook that mails (https://...) in the policy instead' }
  return { target, problem: 'no channel delivers this kind of target' }
}

/** The policy's targets that nothing delivers. */
export function undeliverable(notify: string[]): TargetPlan[] {
  return notify.map(planTarget).filter((plan) => !plan.via)
}

/** The statement the broker makes at start (and on reload): what it delivers, and what it cannot. */
export function describeDelivery(notify: string[], webhooks: WebhookTarget[], holders: (role: string) => number): { lines: string[]; warnings: string[] } {
  const lines: string[] = []
  const warnings: string[] = []
  for (const plan of notify.map(planTarget)) {
    if (plan.via === 'jit reviews') {
      const role = plan.target.slice('role:'.length)
      const count = holders(role)
      lines.push(`${plan.target} → jit reviews (${count} user${count === 1 ? '' : 's'} with the role)`)
      if (count === 0) warnings.push(`${plan.target}: no user has the ${role} role yet, so nobody reads these events in jit reviews (jit admin user add NAME --role ${role})`)
    } else if (plan.via === 'webhook') lines.push(`${plan.target} → webhook (JSON)`)
    else warnings.push(`${plan.target}: NOT DELIVERED, ${plan.problem}`)
  }
  for (const hook of webhooks) lines.push(`every event → ${hook.style} webhook ${new URL(hook.url).host}`)
  return { lines, warnings }
}

/** How one notice went for one policy target, as the requester and the audit trail are told. */
export function outcomeOf(plan: TargetPlan, holders: (role: string) => number): NotificationOutcome {
  if (plan.via === 'jit reviews') {
    const role = plan.target.slice('role:'.length)
    return holders(role) > 0
      ? { target: plan.target, status: 'delivered', via: 'jit reviews' }
      : { target: plan.target, status: 'undeliverable', via: 'jit reviews', detail: `no user has the ${role} role` }
  }
  if (plan.via === 'webhook') return { target: plan.target, status: 'queued', via: 'webhook' }
  return { target: plan.target, status: 'undeliverable', detail: plan.problem }
}
