// Break-glass notifications: webhooks configured in the broker, a plain JSON body or a
// Slack-compatible chat body. Written to an outbox in the same transaction as the event, then
// delivered in the background and retried with backoff: a failed notification is logged and
// retried, and never blocks the emergency.
import { send } from '../util/outbound-http.js'
import type { ReviewStore } from './breakglass/review-store.js'
import { outcomeOf, planTarget } from './breakglass/notify-plan.js'
import { nowIso } from '../util/ids.js'
import { printable } from '../util/printable.js'
import type { NotificationOutcome } from '../wire/api.js'

export interface WebhookTarget {
  url: string
  style: 'json' | 'chat'
}

export interface BreakGlassNotice {
  event: 'break-glass.opened' | 'break-glass.ended' | 'review.overdue'
  drill: boolean
  user: string
  asset: string
  sessionId: string
  reason?: string
  incident?: string
  expiresAt?: string
  ended?: { by: string; why: string }
  reviewId?: string
  /** Who the policy says must hear of it (roles, mail addresses, hooks). */
  notify: string[]
  at: string
}

const DELIVERY_TIMEOUT_MS = 5000
const MAX_BACKOFF_SECONDS = 300
/** A claimed row is not due again before this: longer than one delivery attempt can take. */
const CLAIM_SECONDS = (3 * DELIVERY_TIMEOUT_MS) / 1000

export class Notifier {
  #delivering = false
  /** Set when a webhook delivery was queued since the last run, so kick() has something to do. */
  #queued = false

  constructor(
    readonly outbox: ReviewStore,
    readonly targets: WebhookTarget[],
    readonly log: (line: string) => void,
    readonly now: () => number = Date.now,
  ) {}

  /**
   * Delivers what is delivered at once (the jit reviews inbox), queues one webhook delivery per
   * webhook, and audits each target's fate; returns it per policy target. Call inside the
   * transaction that records the event.
   */
  async enqueue(notice: BreakGlassNotice): Promise<NotificationOutcome[]> {
    const nowEpoch = Math.floor(this.now() / 1000)
    const holders = await roleHolders(this.outbox, notice.notify)
    const outcomes = notice.notify.map((target) => outcomeOf(planTarget(target), holders))
    const hooks: (WebhookTarget & { label: string })[] = [
      ...notice.notify.filter((t) => planTarget(t).via === 'webhook').map((url) => ({ url, style: 'json' as const, label: safeLabel(url) })),
      ...this.targets.map((hook) => ({ ...hook, label: `${hook.style} webhook ${safeLabel(hook.url)}` })),
    ]
    for (const hook of hooks) {
      this.#queued = true
      await this.outbox.enqueue(JSON.stringify({ ...hook, event: notice.event, sessionId: notice.sessionId }), JSON.stringify(render(notice, hook.style)), nowEpoch)
      await this.#audit(notice.event, notice.sessionId, 'notification.queued', { target: hook.label, via: 'webhook' })
    }
    for (const outcome of outcomes) {
      if (outcome.status === 'delivered') await this.#audit(notice.event, notice.sessionId, 'notification.delivered', { target: outcome.target, via: outcome.via })
      if (outcome.status === 'undeliverable') await this.#audit(notice.event, notice.sessionId, 'notification.undeliverable', { target: outcome.target, why: outcome.detail })
    }
    // What the requester is told: webhook targets by their host only (a hook URL can carry a secret).
    return [
      ...outcomes.map((o) => (o.via === 'webhook' ? { ...o, target: safeLabel(o.target) } : o)),
      ...this.targets.map((hook) => ({ target: `${hook.style} webhook ${safeLabel(hook.url)}`, status: 'queued' as const, via: 'webhook' })),
    ]
  }

  async #audit(event: string, sessionId: string, type: string, data: Record<string, unknown>): Promise<void> {
    await this.outbox.store.appendAudit({ type, severity: 'high', actor: 'broker', sessionId, data: { event, ...data } })
  }

  /** Delivers soon, off the request path. */
  kick(): void {
    if (!this.#queued) return
    this.#queued = false
    setImmediate(() => void this.deliverDue())
  }

  /**
   * Delivers what is due, on the broker holding the 'notification-outbox' duty only. Each row is
   * claimed before it is sent (see ReviewStore.claim): a broker that lost the duty mid-run and the
   * one that took it over never both send one row.
   */
  async deliverDue(): Promise<number> {
    if (this.#delivering) return 0
    this.#delivering = true
    let delivered = 0
    try {
      if (!(await this.outbox.store.holdsDuty('notification-outbox'))) return 0
      for (const item of await this.outbox.dueNotifications(Math.floor(this.now() / 1000))) {
        if (!(await this.outbox.claim(item, Math.floor(this.now() / 1000) + CLAIM_SECONDS))) continue
        const target = JSON.parse(item.target) as WebhookTarget & { label?: string; event?: string; sessionId?: string }
        const audit = (type: string, data: Record<string, unknown>) =>
          this.outbox.store.audit({ type, severity: 'high', actor: 'broker', sessionId: target.sessionId, data: { event: target.event ?? null, target: target.label ?? safeLabel(target.url), via: 'webhook', attempt: item.attempts + 1, ...data } })
        try {
          const answer = await send(target.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: item.body, timeoutMs: DELIVERY_TIMEOUT_MS })
          if (answer.status >= 300) throw new Error(`HTTP ${answer.status}`)
          await this.outbox.delivered(item.id, nowIso(this.now()))
          await audit('notification.delivered', {})
          delivered++
        } catch (error) {
          const backoff = Math.min(MAX_BACKOFF_SECONDS, 2 ** item.attempts)
          await this.outbox.failed(item.id, (error as Error).message, Math.floor(this.now() / 1000) + backoff)
          await audit('notification.failed', { error: (error as Error).message.slice(0, 200), retryInSeconds: backoff })
          this.log(`warn: notification ${item.id} to ${new URL(target.url).host} failed (${(error as Error).message}); retry in ${backoff}s`)
        }
      }
    } finally {
      this.#delivering = false
    }
    return delivered
  }
}

/**
 * Chat shows what users typed (the reason, the incident) to everyone in the channel: control
 * characters are made visible and the characters chat markup gives meaning to (Slack's
 * &, <, >) are escaped, so a reason cannot ping @channel, fake a link or rewrite the message.
 */
function chatText(text: unknown): string {
  return printable(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function render(notice: BreakGlassNotice, style: WebhookTarget['style']): unknown {
  if (style === 'json') return notice
  const n = Object.fromEntries(Object.entries(notice).map(([key, value]) => [key, typeof value === 'string' ? chatText(value) : value])) as unknown as BreakGlassNotice
  if (notice.ended) n.ended = { by: chatText(notice.ended.by), why: chatText(notice.ended.why) }
  n.notify = notice.notify.map(chatText)
  return renderChat(n)
}

function renderChat(notice: BreakGlassNotice): unknown {
  const tag = notice.drill ? '[DRILL] ' : ''
  const what =
    notice.event === 'break-glass.opened'
      ? `:rotating_light: ${tag}Break-glass access opened by *${notice.user}* on \`${notice.asset}\` until ${notice.expiresAt}. Reason: ${notice.reason}${notice.incident ? ` (incident ${notice.incident})` : ''}`
      : notice.event === 'break-glass.ended'
        ? `:white_check_mark: ${tag}Break-glass session of *${notice.user}* on \`${notice.asset}\` ended (${notice.ended?.why}, by ${notice.ended?.by}). Review ${notice.reviewId} is now due.`
        : `:warning: ${tag}Break-glass review ${notice.reviewId} of *${notice.user}* (\`${notice.asset}\`) is overdue.`
  return { text: `${what}\nSession ${notice.sessionId}. Notify: ${notice.notify.join(', ') || 'nobody listed'}` }
}

/** A webhook as it may be shown and audited: scheme and host, never the path (it can hold a secret). */
export function safeLabel(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}/…`
  } catch {
    return 'webhook'
  }
}

/** How many enabled users hold a role: the readers of the jit reviews inbox. */
async function roleHolders(outbox: ReviewStore, notify: string[]): Promise<(role: string) => number> {
  const users = notify.length > 0 ? await outbox.store.users.list() : []
  return (role) => users.filter((u) => !u.disabled && u.roles.includes(role)).length
}
