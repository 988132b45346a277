import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import type { RenewResult } from '../src/cli/sessions/renew.js'

export default class Renew extends JitCommand {
  static opensSession = true
  static summary = 'Give a session more time, within what the policy allows for the whole session.'
  static description = 'The new expiry is now + --ttl (default: the session\'s original length). The policy\'s maximum TTL caps the session from when it was issued; a break-glass session never passes its hard cap. Refused: exit 3 with the reasons. Every renewal is audited.'
  static examples = ['<%= config.bin %> renew ses_4f...', '<%= config.bin %> renew ses_4f... --ttl 15m --json']
  static args = { id: Args.string({ required: true, description: 'Session id' }) }
  static flags = { ttl: Flags.string({ summary: 'Time left after renewal, from now (e.g. 15m, 1h).' }) }

  async run(): Promise<RenewResult> {
    const { args, flags } = await this.parse(Renew)
    const { renewSession } = await import('../src/cli/sessions/renew.js')
    const result = await renewSession(this.cli(flags), args.id, flags.ttl)
    if (!this.jsonEnabled()) {
      const { ui, timeLeft } = await import('../src/cli/output.js')
      ui.ok(`Renewed ${result.session.id}: ${timeLeft(result.expiresIn * 1000, 0)} left (until ${result.session.expiresAt})${result.cached ? '; cached credential updated' : ''}.`)
    }
    return result
  }
}
