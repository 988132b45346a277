// The revocation stream: every session end, for every cause, as a numbered row written in the same
// transaction as the end itself (the table is the truth), and pushed to long-polling gateways the
// moment that transaction is committed (the fast path): store.signal wakes this broker's followers
// and, on PostgreSQL, every other broker's (NOTIFY), so an end on any broker reaches every gateway.
// A gateway that reconnects asks for what came after the last number it saw and misses nothing.
// A short poll of the table is the backstop for a wake-up that never came (a lost listening
// connection, an end written by an operator command on the embedded file).
import type { SessionEnd } from '../../wire/gateway.js'
import type { BrokerContext } from '../context.js'
import { int, type Row, type SessionRecord } from '../store/records.js'
import type { SqlReader, Store } from '../store/store.js'

/** The store's signal channel of the stream. */
const CHANNEL = 'session_ends'
/** The in-process event the one listener of a broker fans out to its waiting followers. */
const WAKE = 'revocation-stream:wake'
/** How often followers look at the table for ends whose wake-up they may have missed. */
const BACKSTOP_POLL_MS = 250
const MAX_BATCH = 1000

/** Records a session end on the stream. Called by endSessionRecorded, inside its transaction. */
export async function recordSessionEnd(ctx: BrokerContext, session: SessionRecord, state: 'revoked' | 'expired', data: Record<string, unknown> | undefined): Promise<void> {
  const cause = typeof data?.cause === 'string' ? data.cause : state
  const at = new Date(ctx.now()).toISOString()
  await ctx.store.execute('INSERT INTO session_ends (session_id, asset, cause, at) VALUES (?,?,?,?)', [session.id, session.asset, cause, at])
  // Sent at commit: an end that rolls back is never announced.
  await ctx.store.signal(CHANNEL)
}

export async function streamHead(reader: SqlReader): Promise<number> {
  const row = (await reader.query('SELECT MAX(seq) AS head FROM session_ends'))[0]
  return row?.head === null || row?.head === undefined ? 0 : int(row.head)
}

export async function endsAfter(reader: SqlReader, since: number): Promise<SessionEnd[]> {
  return (await reader.query('SELECT * FROM session_ends WHERE seq > ? ORDER BY seq LIMIT ?', [since, MAX_BATCH])).map((row: Row) => ({
    seq: int(row.seq),
    sessionId: row.session_id as string,
    asset: row.asset as string,
    cause: row.cause as string,
    at: row.at as string,
  }))
}

/** One listener per broker (per store), fanned out to the waiting followers through ctx.events. */
const listening = new WeakMap<Store, Promise<unknown>>()

function listen(ctx: BrokerContext): Promise<unknown> {
  let started = listening.get(ctx.store)
  if (!started) {
    started = ctx.store.onSignal(CHANNEL, () => ctx.events.emit(WAKE))
    listening.set(ctx.store, started)
    // A listener that could not start is tried again by the next follower; the backstop covers the meantime.
    started.catch(() => listening.delete(ctx.store))
  }
  return started
}

/** What is committed: the head and the ends after `since`, from one snapshot. */
function read(store: Store, since: number): Promise<{ head: number; ends: SessionEnd[] }> {
  return store.snapshot(async (reader) => ({ head: await streamHead(reader), ends: await endsAfter(reader, since) }))
}

/** Waits up to waitMs for ends after `since`, then answers with what is committed. */
export async function waitForEnds(ctx: BrokerContext, since: number, waitMs: number, gone: AbortSignal): Promise<{ head: number; ends: SessionEnd[] }> {
  // Listening before the first read: an end committed in between wakes this follower.
  if (waitMs > 0) await listen(ctx).catch(() => {})
  const batch = await read(ctx.store, since)
  if (batch.ends.length > 0 || waitMs <= 0) return batch
  await new Promise<void>((resolve) => {
    let settled = false
    const finish = () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearInterval(backstop)
      ctx.events.removeListener(WAKE, finish)
      gone.removeEventListener('abort', finish)
      resolve()
    }
    const timer = setTimeout(finish, waitMs)
    const backstop = setInterval(() => {
      void ctx.store.snapshot(streamHead).then((head) => head > since && finish(), () => {})
    }, BACKSTOP_POLL_MS)
    ctx.events.once(WAKE, finish)
    gone.addEventListener('abort', finish)
  })
  return read(ctx.store, since)
}
