import { Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import type { SessionRow } from '../../src/cli/sessions/local-sessions.js'
import type { LiveSessionList } from '../../src/wire/api.js'
import { readJournal, type PendingRevocation } from '../../src/cli/sessions/revocation-journal.js'

export default class Sessions extends JitCommand {
  static summary = 'My active sessions: asset, ticket, scope, time left, cached on this device or not.'
  static description = `Sessions whose revocation could not reach the broker are listed first, loudly: they may still be usable until the broker hears about them (jit revoke --pending retries now).

--all and --asset list the plant's live sessions instead (who, asset, scope, ticket, started, ends): security and admin see every one, the members of an asset's owner group those on the assets their group owns.`
  static examples = ['<%= config.bin %> sessions', '<%= config.bin %> sessions --json', '<%= config.bin %> sessions show ses_4f...', '<%= config.bin %> sessions --all', "<%= config.bin %> sessions --asset 'plant-a/line-3/**' --json"]
  static flags = {
    all: Flags.boolean({ summary: 'Every live session you oversee (security, admin; an owner group: its assets), not only yours.' }),
    asset: Flags.string({ summary: 'Live sessions on assets matching this path or pattern (plant-a/line-3/**), among those you oversee.' }),
  }

  async run(): Promise<{ sessions: SessionRow[]; pendingRevocations: PendingRevocation[] } | LiveSessionList> {
    const { flags } = await this.parse(Sessions)
    if (flags.all || flags.asset !== undefined) {
      const { listLiveSessions, printLiveSessions } = await import('../../src/cli/sessions/live-sessions.js')
      const live = await listLiveSessions(this.cli(flags), flags.asset)
      if (!this.jsonEnabled()) await printLiveSessions(live, (text) => this.log(text))
      return live
    }
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
