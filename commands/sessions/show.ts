import { Args } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import type { SessionStory } from '../../src/cli/sessions/session-proof.js'

export default class SessionsShow extends JitCommand {
  static summary = 'Prove what happened to a session: issued, each verification by an asset, each connection through a gateway, how it ended, and a live check that it is inactive now.'
  static examples = ['<%= config.bin %> sessions show ses_4f...', '<%= config.bin %> sessions show ses_4f... --json']
  static args = { id: Args.string({ required: true, description: 'Session id' }) }

  async run(): Promise<SessionStory> {
    const { args, flags } = await this.parse(SessionsShow)
    const { sessionStory } = await import('../../src/cli/sessions/session-proof.js')
    const story = await sessionStory(this.cli(flags), args.id)
    if (!this.jsonEnabled()) {
      const { ui, timeLeft } = await import('../../src/cli/output.js')
      const { printable } = await import('../../src/util/printable.js')
      const s = story.session
      this.log(`${ui.bold(s.id)}  ${s.scope} on ${s.asset}  ticket ${printable(s.ticket)}  (${s.kind}, ${s.user})`)
      this.log(`  issued      ${story.issued?.at ?? s.issuedAt}${story.issued ? ` to ${story.issued.by}` : ''}, expiry ${s.expiresAt}`)
      if (story.verifications.length === 0) this.log('  verified    never, by any asset')
      for (const v of story.verifications) this.log(`  verified    ${v.at} by ${v.by}: ${v.active ? 'active' : 'refused (inactive)'}`)
      for (const c of story.connections) {
        const kept = c.recording ? `, recorded ${c.recording.file} sha256 ${c.recording.sha256.slice(0, 16)}…` : ''
        this.log(`  connection  ${c.startedAt} → ${c.endedAt} via ${c.gateway} from ${c.from}: ${c.bytesToAsset} B to the asset, ${c.bytesFromAsset} B back, ended ${c.endCause}${kept}`)
      }
      for (const r of story.renewals) this.log(`  renewed     ${r.at} by ${r.by}, to ${r.to}`)
      for (const t of story.targets ?? []) {
        if (t.state === 'made') this.log(`  target      account ${t.account} at ${t.target}: live${story.ended ? ' (being removed)' : ''}`)
        else if (t.state === 'removed') this.log(`  target      account ${t.account} at ${t.target}: removed`)
        else if (t.state === 'intent') this.log(`  target      account ${t.account} at ${t.target}: being made`)
        else this.log(`  target      account ${t.account} not yet removed at ${t.target}${t.attempts > 0 ? ` (${t.attempts} attempts, last: ${printable(t.lastError ?? '')})` : ''}`)
      }
      if (story.ended) this.log(`  ended       ${story.ended.at}: ${story.ended.state} by ${story.ended.by}, ${printable(story.ended.reason)}`)
      else this.log(`  live        ${timeLeft(story.secondsLeft * 1000, 0)} left`)
      const check = `introspection at ${story.liveCheck.checkedAt} says active: ${story.liveCheck.active}`
      if (story.liveCheck.active) ui.warn(`Live check: ${check}. The credential still works.`)
      else ui.ok(`Live check: ${check}. The credential no longer works anywhere.`)
    }
    return story
  }
}
