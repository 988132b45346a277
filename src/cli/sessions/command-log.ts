// `jit sessions commands`: one line per logged command, per connection.
import type { ModbusCommand, SessionCommands } from '../../wire/gateway.js'
import { printable } from '../../util/printable.js'

export function printCommandLog(result: SessionCommands, log: (line: string) => void): void {
  log(`${result.sessionId}  ${result.scope} on ${result.asset}`)
  if (result.connections.length === 0) log('  no command log (no protocol-aware connection has ended yet)')
  for (const connection of result.connections) {
    log(`  connection ${connection.connectionId}  ${connection.startedAt} → ${connection.endedAt}  (${connection.protocol}, sha256 ${connection.sha256.slice(0, 16)}…)`)
    if (connection.entries.length === 0) log('    no writes, no refusals')
    for (const entry of connection.entries) log(`    ${describe(entry)}`)
  }
}

function describe(entry: ModbusCommand): string {
  const where = entry.address === undefined ? '' : ` address ${entry.address}${entry.count !== undefined && entry.count > 1 ? ` count ${entry.count}` : ''}`
  const values = entry.values ? ` values [${entry.values.join(', ')}${entry.count !== undefined && entry.count > entry.values.length ? ', …' : ''}]` : ''
  const answer = entry.answer ? ` → ${entry.answer}` : entry.outcome === 'sent' ? ' → no answer' : ''
  const reason = entry.reason ? ` (${printable(entry.reason)})` : ''
  return `${entry.at}  ${entry.outcome.padEnd(9)} unit ${entry.unit} function ${entry.function}${where}${values}${answer}${reason}`
}
