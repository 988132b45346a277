// The command logs of protocol-aware connections (Modbus/TCP): the decoded writes and refusals a
// gateway reported with a connection's end, kept whole here, and summarised (counts and the
// SHA-256 of the log) in the connection's `gateway.connection` audit record, so the chain vouches
// for the log. `jit sessions commands ID` reads them.
import { createHash } from 'node:crypto'
import { canonicalJson } from '../../util/canonical-json.js'
import type { CommandLog, ConnectionCommands, ConnectionRecord, ModbusCommand } from '../../wire/gateway.js'
import type { SqlReader, Store } from '../store/store.js'

/** What the audit record keeps of a command log. */
export interface CommandSummary {
  protocol: CommandLog['protocol']
  writes: number
  refused: number
  dropped: number
  logged: number
  sha256: string
}

export function summarise(log: CommandLog, text: string): CommandSummary {
  return { protocol: log.protocol, writes: log.writes, refused: log.refused, dropped: log.dropped, logged: log.entries.length, sha256: sha256(text) }
}

/** Keeps a connection's log (once per connection; inside the transaction that records its end) and answers with its summary. */
export async function keepCommandLog(tx: Store, record: ConnectionRecord & { commands: CommandLog }): Promise<CommandSummary> {
  const text = canonicalJson(record.commands.entries)
  await tx.execute(
    'INSERT INTO connection_commands (connection_id, session_id, asset, protocol, started_at, ended_at, log, sha256) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (connection_id) DO NOTHING',
    [record.connectionId, record.sessionId, record.asset, record.commands.protocol, record.startedAt, record.endedAt, text, sha256(text)],
  )
  return summarise(record.commands, text)
}

export async function commandsOfSession(read: SqlReader, sessionId: string): Promise<ConnectionCommands[]> {
  const rows = await read.query('SELECT * FROM connection_commands WHERE session_id = ? ORDER BY started_at, connection_id', [sessionId])
  return rows.map((row) => ({
    connectionId: row.connection_id as string,
    protocol: row.protocol as string,
    startedAt: row.started_at as string,
    endedAt: row.ended_at as string,
    sha256: row.sha256 as string,
    entries: JSON.parse(row.log as string) as ModbusCommand[],
  }))
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
