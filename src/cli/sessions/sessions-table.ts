// The human listing of `jit sessions`, shared by the oclif command and the fast path
// (src/cli/sessions-fast-path.ts) so that both print exactly the same thing.
import type { SessionRow } from './local-sessions.js'

/** The table (stdout) or the "none" line (stderr). */
export async function printSessions(sessions: SessionRow[], log: (text: string) => void): Promise<void> {
  const { table, ui, timeLeft } = await import('../output.js')
  if (sessions.length === 0) ui.info('No active sessions.')
  else log(await table(['id', 'asset', 'ticket', 'scope', 'kind', 'time left', 'cached'], sessions.map((s) => [s.id, s.asset, s.ticket, s.scope, s.kind, timeLeft(s.secondsLeft * 1000, 0), s.cached ? 'yes' : 'no'])))
}
