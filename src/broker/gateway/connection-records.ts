// The record of every connection a gateway carried, as audit events of its session (so `jit
// sessions show` lists it and `jit audit verify` covers it): `gateway.connection.opened` when the
// gateway admits the connection, `gateway.connection` when it ends. A gateway keeps each record on
// disk until the broker has answered for it, and resends after a restart what it is not sure the
// broker has; so each is recorded once per connection id, and a resend answers with the first.
import type { ConnectionOpened, ConnectionRecord } from '../../wire/gateway.js'
import { badInput } from '../api-error.js'
import type { BrokerContext } from '../context.js'
import type { SqlReader } from '../store/store.js'
import { keepCommandLog } from './command-logs.js'

/** What these functions use of the broker: its store and its clock. */
type StoreAndClock = Pick<BrokerContext, 'store' | 'now'>

export const CONNECTION_OPENED = 'gateway.connection.opened'
export const CONNECTION_CLOSED = 'gateway.connection'

/** Records one connection's opening or end, once; only for a session on an asset this gateway fronts. */
export async function recordConnectionEvent(
  ctx: StoreAndClock,
  gateway: string,
  type: typeof CONNECTION_OPENED | typeof CONNECTION_CLOSED,
  record: ConnectionOpened | ConnectionRecord,
): Promise<{ recorded: true; seq: number }> {
  const session = await ctx.store.sessions.get(record.sessionId, ctx.now() / 1000)
  if (!session || session.asset !== record.asset) throw badInput(`Session ${record.sessionId} is not a session on ${record.asset}.`)
  const asset = await ctx.store.assets.get(record.asset)
  if (!asset || asset.attributes.gateway !== gateway) throw badInput(`Asset ${record.asset} is not behind gateway ${gateway}.`)
  // The session's scope: a resend racing the first (another broker, a retry after a timeout)
  // waits for it, and then finds it.
  return ctx.store.transaction(async (tx) => {
    const seq = await recordedSeq(tx, session.id, type, record.connectionId)
    if (seq !== undefined) return { recorded: true, seq }
    // A command log is kept beside the trail; the record carries its summary and hash.
    const { commands, ...rest } = record as ConnectionRecord
    const data = commands && type === CONNECTION_CLOSED ? { ...rest, commands: await keepCommandLog(tx, { ...(record as ConnectionRecord), commands }) } : rest
    const event = await tx.appendAudit({
      type,
      severity: session.kind === 'standard' ? 'info' : 'high',
      actor: `verifier:${gateway}`,
      sessionId: session.id,
      requestId: session.requestId,
      data: { gateway, ...data },
    })
    return { recorded: true, seq: event.seq }
  }, { user: session.user, asset: session.asset })
}

/**
 * The audit sequence number of this connection's record of `type`, if there is one. The audit's
 * data is canonical JSON (no spaces), so the connection id reads the same in every record; the
 * session's index keeps the search to that session's events.
 */
async function recordedSeq(read: SqlReader, sessionId: string, type: string, connectionId: string): Promise<number | undefined> {
  const literal = `%"connectionId":${JSON.stringify(connectionId).replace(/[!%_]/g, (c) => `!${c}`)}%`
  const rows = await read.query("SELECT seq FROM audit WHERE session_id = ? AND type = ? AND data LIKE ? ESCAPE '!' ORDER BY seq LIMIT 1", [sessionId, type, literal])
  return rows.length > 0 ? Number(rows[0].seq) : undefined
}
