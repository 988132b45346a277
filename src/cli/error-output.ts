// How a failure reaches the person or the script: one JSON document on stdout under --json,
// else the message, every reason and the next steps on stderr. The exit code is the error's.
import { ExitCode, type JitError } from '../errors.js'
import { printable } from '../util/printable.js'

export async function renderError(error: JitError, json: boolean): Promise<void> {
  process.exitCode = error.exitCode
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`)
    return
  }
  const { ui } = await import('./output.js')
  // Pending (exit 8) is a state, not a failure: said without the failure mark.
  // Refusals quote what was asked (a ticket id, a reason): shown as sent, never interpreted.
  ;(error.exitCode === ExitCode.pending ? ui.info : ui.fail)(printable(error.message))
  const reasons = (error.details.reasons as string[] | undefined) ?? []
  for (const reason of reasons) process.stderr.write(`    - ${printable(reason)}\n`)
  for (const step of error.nextSteps) process.stderr.write(`  → ${printable(step)}\n`)
}
