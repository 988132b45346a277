import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { UsageError } from '../src/errors.js'

export default class Revoke extends JitCommand {
  static summary = 'End a session now (or all of this device\'s sessions) and remove its cached credential.'
  static examples = ['<%= config.bin %> revoke ses_4f...', '<%= config.bin %> revoke --all']
  static args = { id: Args.string({ description: 'Session id' }) }
  static flags = {
    all: Flags.boolean({ summary: 'Every active session of this device.' }),
    reason: Flags.string({ summary: 'Why (kept in the audit log).' }),
  }

  async run() {
    const { args, flags } = await this.parse(Revoke)
    if (!args.id === !flags.all) throw new UsageError('Name one session id, or pass --all.')
    const { revokeSessions } = await import('../src/sessions/local-sessions.js')
    const revoked = await revokeSessions(this.cli(flags), { id: args.id, all: flags.all }, flags.reason)
    if (!this.jsonEnabled()) {
      const { ui } = await import('../src/cli/output.js')
      if (revoked.length === 0) ui.info('No active sessions to revoke.')
      for (const s of revoked) ui.ok(`Revoked ${s.id} (${s.scope} on ${s.asset}).`)
    }
    return { revoked }
  }
}
