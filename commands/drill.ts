import { Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'

export default class Drill extends JitCommand {
  static reviewGate = false
  static summary = 'Rehearse break-glass unattended: open, prove active, revoke, prove dead, file the review, report.'
  static description = 'Runs the real break-glass path tagged as a drill (notifications say so). Exits 0 only when every step passed; otherwise with the failing step\'s code. No prompts.'
  static examples = ['<%= config.bin %> drill --asset plant-a/line-3/cell-2/plc-07 --review-file drill-review.yaml', '<%= config.bin %> drill --asset plant-a/line-3/cell-2/plc-07 --review-file r.yaml --probe "plc-tool ping" --json']
  static flags = {
    asset: Flags.string({ required: true, summary: 'Asset path.' }),
    'review-file': Flags.string({ required: true, summary: 'Review answers (YAML/JSON) to file at the end.' }),
    reason: Flags.string({ default: 'scheduled break-glass drill', summary: 'Reason recorded for the drill.' }),
    scope: Flags.string({ summary: 'Scope (default: the first the break-glass policy allows).' }),
    probe: Flags.string({ summary: 'Command to run with the credential; must exit 0 (split on spaces).' }),
  }

  async run() {
    const { flags } = await this.parse(Drill)
    const { runDrill } = await import('../src/cli/breakglass/drill.js')
    const report = await runDrill(this.cli(flags), { asset: flags.asset, reason: flags.reason, reviewFile: flags['review-file'], scope: flags.scope, probe: flags.probe?.split(' ').filter(Boolean) })
    if (!this.jsonEnabled()) {
      const { table, ui } = await import('../src/cli/output.js')
      this.log(await table(['step', 'result', 'ms', 'detail'], report.steps.map((s) => [s.name, s.skipped ? 'skipped' : s.ok ? 'pass' : 'FAIL', s.ms.toFixed(1), s.detail])))
      const line = `Drill on ${report.asset}: ${report.passed ? 'PASSED' : 'FAILED'}; time to access ${report.timeToAccessMs?.toFixed(1) ?? '-'} ms, total ${report.totalMs.toFixed(1)} ms.`
      if (report.passed) ui.ok(line)
      else ui.fail(line)
    }
    process.exitCode = report.exitCode
    return report
  }
}
