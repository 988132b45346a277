import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { BrokerUnreachableError, UsageError } from '../src/errors.js'

export default class Revoke extends JitCommand {
  static summary = 'End a session now (or all of this device\'s sessions) and remove its cached credential.'
  static description = '--pending retries the revocations that could not reach the broker before (jit also retries them at the start of every run); it exits 5 while any is still unconfirmed.'
  static examples = ['<%= config.bin %> revoke ses_4f...', '<%= config.bin %> revoke --all', '<%= config.bin %> revoke --pending']
  static args = { id: Args.string({ description: 'Session id' }) }
  static flags = {
    all: Flags.boolean({ summary: 'Every active session of this device.', exclusive: ['pending'] }),
    pending: Flags.boolean({ summary: 'Retry the queued revocations the broker has not confirmed yet.', exclusive: ['all'] }),
    reason: Flags.string({ summary: 'Why (kept in the audit log).' }),
  }

  async run() {
    const { args, flags } = await this.parse(Revoke)
    if (flags.pending) return this.pending(Boolean(args.id))
    if (!args.id === !flags.all) throw new UsageError('Name one session id, or pass --all (or --pending).')
    const { revokeSessions } = await import('../src/cli/sessions/local-sessions.js')
    const revoked = await revokeSessions(this.cli(flags), { id: args.id, all: flags.all }, flags.reason)
    if (!this.jsonEnabled()) {
      const { ui } = await import('../src/cli/output.js')
      if (revoked.length === 0) ui.info('No active sessions to revoke.')
      for (const s of revoked) ui.ok(`Revoked ${s.id} (${s.scope} on ${s.asset}).`)
    }
    return { revoked }
  }

  private async pending(withId: boolean) {
    if (withId) throw new UsageError('--pending takes no session id: it retries every queued revocation.')
    const { drainJournal } = await import('../src/cli/sessions/journal-drain.js')
    // The start of this run has retried them already; whatever is left is tried once more.
    const now = await drainJournal({ wait: true })
    const confirmed = [...(this.journalDrain?.confirmed ?? []), ...now.confirmed]
    if (!this.jsonEnabled()) {
      const { ui } = await import('../src/cli/output.js')
      if (confirmed.length === 0 && now.pending.length === 0) ui.info('No revocations are pending.')
    }
    if (now.pending.length > 0) {
      throw new BrokerUnreachableError(`${now.pending.length} revocation(s) still unconfirmed: ${now.pending.map((e) => `${e.sessionId} (${e.problem})`).join(', ')}.`, [
        'Check that the broker is running and reachable; jit retries on every run.',
      ], { confirmed, pending: now.pending })
    }
    return { confirmed, pending: now.pending }
  }
}
