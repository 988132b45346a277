import { JitCommand } from '../../src/cli/base-command.js'
import type { SessionRow } from '../../src/cli/sessions/local-sessions.js'
import { readJournal, type PendingRevocation } from '../../src/cli/sessions/revocation-journal.js'

export default class Sessions extends JitCommand {
  static summary = 'My active sessions: asset, ticket, scope, time left, cached on this device or not.'
  static description = 'Sessions whose revocation could not reach the broker are listed first, loudly: they may still be usable until the broker hears about them (jit revoke --pending retries now).'
  static examples = ['<%= config.bin %> sessions', '<%= config.bin %> sessions --json', '<%= config.bin %> sessions show ses_4f...']

  async run(): Promise<{ sessions: SessionRow[]; pendingRevocations: PendingRevocation[] }> {
    const { flags } = await this.parse(Sessions)
    const [{ listMySessions }, { ui }, { printSessions }] = await Promise.all([import('../../src/cli/sessions/local-sessions.js'), import('../../src/cli/output.js'), import('../../src/cli/sessions/sessions-table.js')])
    // Shown before asking the broker, so that they are seen even when it cannot be reached.
    const pendingRevocations = readJournal()
    if (!this.jsonEnabled()) {
      for (const entry of pendingRevocations) ui.warn(`REVOCATION PENDING: ${entry.sessionId} (${entry.reason}, since ${entry.since}) was not confirmed by ${entry.broker}; it may still be live. Retry: jit revoke --pending`)
    }
    const sessions = await listMySessions(this.cli(flags))
    if (!this.jsonEnabled()) await printSessions(sessions, (text) => this.log(text))
    return { sessions, pendingRevocations }
  }
}
