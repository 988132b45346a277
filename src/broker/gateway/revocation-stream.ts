// The revocation stream: every session end, for every cause, as a numbered row written in the same
// transaction as the end itself (the table is the truth), and pushed to long-polling gateways the
// moment that transaction is on disk (the fast path). A gateway that reconnects asks for what came
// after the last number it saw and misses nothing. Ends written by another process on the same
// data (an operator command) reach followers through a short poll of the table.
import type { SessionEnd } from '../../wire/gateway.js'
import type { BrokerContext } from '../context.js'
import { sqliteOf } from '../store/sqlite-async-store.js'
import type { Row, SqliteStore, SessionRecord } from '../store/sqlite-store.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS session_ends (seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, asset TEXT NOT NULL, cause TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS session_ends_session ON session_ends(session_id);
`
const WAKE = 'revocation-stream:wake'
/** How often followers look at the table for ends written by another process. */
const BACKSTOP_POLL_MS = 250
const MAX_BATCH = 1000

const ready = new WeakSet<SqliteStore>()

/** Creates the table if needed. Remembered only when created outside a transaction (one that could still roll back). */
export function ensureRevocationSchema(store: SqliteStore): void {
  if (ready.has(store)) return
  store.db.exec(SCHEMA)
  if (!store.db.isTransaction) ready.add(store)
}

/** Records a session end on the stream. Called by endSessionRecorded, inside its transaction. */
export async function recordSessionEnd(ctx: BrokerContext, session: SessionRecord, state: 'revoked' | 'expired', data: Record<string, unknown> | undefined): Promise<void> {
  const cause = typeof data?.cause === 'string' ? data.cause : state
  const at = new Date(ctx.now()).toISOString()
  await sqliteOf(ctx.store).run((store) => {
    ensureRevocationSchema(store)
    store.statement('INSERT INTO session_ends (session_id, asset, cause, at) VALUES (?,?,?,?)').run(session.id, session.asset, cause, at)
  })
  // Followers read the table only once the commit is durable; an end that rolls back is never sent.
  ctx.events?.emit(WAKE)
}

export function streamHead(store: SqliteStore): number {
  ensureRevocationSchema(store)
  return ((store.statement('SELECT MAX(seq) AS head FROM session_ends').get() as Row).head as number | null) ?? 0
}

export function endsAfter(store: SqliteStore, since: number): SessionEnd[] {
  ensureRevocationSchema(store)
  return (store.statement('SELECT * FROM session_ends WHERE seq > ? ORDER BY seq LIMIT ?').all(since, MAX_BATCH) as Row[]).map((row) => ({
    seq: row.seq as number,
    sessionId: row.session_id as string,
    asset: row.asset as string,
    cause: row.cause as string,
    at: row.at as string,
  }))
}

/**
 * Waits up to waitMs for ends after `since`, then answers with what there is. Only committed
 * rows are read: with group commit on, a wake-up first waits for the open group to be durable.
 */
export async function waitForEnds(ctx: BrokerContext, since: number, waitMs: number, gone: AbortSignal): Promise<{ head: number; ends: SessionEnd[] }> {
  const sqlite = sqliteOf(ctx.store)
  const read = async () => {
    await ctx.store.whenDurable()?.catch(() => {})
    // A row of the group still open is visible to this connection but not yet committed: wait it out.
    for (;;) {
      const batch = await sqlite.run((store) => (store.db.isTransaction ? undefined : { head: streamHead(store), ends: endsAfter(store, since) }))
      if (batch) return batch
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  let batch = await read()
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
      void sqlite.run((store) => !store.db.isTransaction && streamHead(store) > since).then((moved) => moved && finish(), () => {})
    }, BACKSTOP_POLL_MS)
    ctx.events.once(WAKE, finish)
    gone.addEventListener('abort', finish)
  })
  batch = await read()
  return batch
}
