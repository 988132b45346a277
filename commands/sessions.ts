import { JitCommand } from '../src/cli/base-command.js'
import type { SessionRow } from '../src/sessions/local-sessions.js'

export default class Sessions extends JitCommand {
  static summary = 'My active sessions: asset, ticket, scope, time left, cached on this device or not.'
  static examples = ['<%= config.bin %> sessions', '<%= config.bin %> sessions --json']

  async run(): Promise<{ sessions: SessionRow[] }> {
    const { flags } = await this.parse(Sessions)
    const { listMySessions } = await import('../src/sessions/local-sessions.js')
    const sessions = await listMySessions(this.cli(flags))
    if (!this.jsonEnabled()) {
      const { table, ui, timeLeft } = await import('../src/cli/output.js')
      if (sessions.length === 0) ui.info('No active sessions.')
      else this.log(await table(['id', 'asset', 'ticket', 'scope', 'kind', 'time left', 'cached'], sessions.map((s) => [s.id, s.asset, s.ticket, s.scope, s.kind, timeLeft(Date.now() + s.secondsLeft * 1000), s.cached ? 'yes' : 'no'])))
    }
    return { sessions }
  }
}
