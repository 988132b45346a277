// Break-glass notifications: webhooks configured in the broker, a plain JSON body or a
// Slack-compatible chat body. Written to an outbox in the same transaction as the event, then
// delivered in the background and retried with backoff: a failed notification is logged and
// retried, and never blocks the emergency.
import { request } from 'undici'
import type { ReviewStore } from './breakglass/review-store.js'
import { nowIso } from '../util/ids.js'
import { printable } from '../util/printable.js'

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

export class Notifier {
  #delivering = false

  constructor(
    readonly outbox: ReviewStore,
    readonly targets: WebhookTarget[],
    readonly log: (line: string) => void,
    readonly now: () => number = Date.now,
  ) {}

  /** Queues one delivery per target. Call inside the transaction that records the event. */
  enqueue(notice: BreakGlassNotice): void {
    for (const target of this.targets) {
      this.outbox.enqueue(JSON.stringify(target), JSON.stringify(render(notice, target.style)), Math.floor(this.now() / 1000))
    }
  }

  /** Delivers soon, off the request path. */
  kick(): void {
    if (this.targets.length > 0) setImmediate(() => void this.deliverDue())
  }

  async deliverDue(): Promise<number> {
    if (this.#delivering) return 0
    this.#delivering = true
    let delivered = 0
    try {
      for (const item of this.outbox.dueNotifications(Math.floor(this.now() / 1000))) {
        const target = JSON.parse(item.target) as WebhookTarget
        try {
          const response = await request(target.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: item.body,
            headersTimeout: DELIVERY_TIMEOUT_MS,
            bodyTimeout: DELIVERY_TIMEOUT_MS,
          })
          await response.body.dump()
          if (response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}`)
          this.outbox.delivered(item.id, nowIso(this.now()))
          delivered++
        } catch (error) {
          const backoff = Math.min(MAX_BACKOFF_SECONDS, 2 ** item.attempts)
          this.outbox.failed(item.id, (error as Error).message, Math.floor(this.now() / 1000) + backoff)
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
