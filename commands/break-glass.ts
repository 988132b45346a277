import { Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { UsageError } from '../src/errors.js'

export default class BreakGlass extends JitCommand {
  static opensSession = true
  static summary = 'Emergency access without waiting for an approver: short, loud, and reviewed afterwards.'
  static description = 'Only where the policy\'s break-glass section allows, capped at its hard TTL. The targets the policy names are notified at once, and jit says which were reached (delivered, queued, or not); every event is high severity in the audit log. When the session ends you must file a post-event review; until then you can open no new session (exit 7). With -- CMD the command runs with the credential and the session is revoked when it exits; the review is asked for right away.'
  static examples = [
    '<%= config.bin %> break-glass --asset plant-a/line-3/cell-2/plc-07 --reason "line down, no approver reachable" --incident INC0012345 -- plc-tool connect',
    '<%= config.bin %> break-glass --asset plant-a/line-3/cell-2/plc-07 --reason "line down" --review-file review.yaml -- ./restore-recipe.sh',
  ]
  static strict = false
  static flags = {
    asset: Flags.string({ required: true, summary: 'Asset path.' }),
    reason: Flags.string({ required: true, summary: 'Why this is an emergency (sent to security at once).' }),
    incident: Flags.string({ summary: 'Incident ticket, if one exists yet.' }),
    scope: Flags.string({ summary: 'Scope (default: the first the break-glass policy allows).' }),
    ttl: Flags.string({ summary: 'How long; never more than the policy\'s hard cap.' }),
    'no-cache': Flags.boolean({ summary: 'Keep the credential in memory only.' }),
    'review-file': Flags.string({ summary: 'File the review from this YAML/JSON file when the command ends (unattended use).' }),
  }

  async run() {
    const { flags, argv } = await this.parse(BreakGlass)
    const command = argv as string[]
    if (flags['review-file'] && command.length === 0) throw new UsageError('--review-file goes with a command after --: the review is filed when it ends.')
    const { breakGlass } = await import('../src/cli/breakglass/break-glass.js')
    const { ui } = await import('../src/cli/output.js')
    const quiet = this.jsonEnabled()
    const result = await breakGlass(this.cli(flags), {
      asset: flags.asset,
      reason: flags.reason,
      incident: flags.incident,
      scope: flags.scope,
      ttl: flags.ttl,
      cache: !flags['no-cache'],
      command,
      reviewFile: flags['review-file'],
      canPrompt: this.canPrompt(flags),
      say: quiet ? undefined : ui,
    })
    if (result.exitCode !== undefined) process.exitCode = result.exitCode
    return result
  }
}
