// How a failure reaches the person or the script: one JSON document on stdout under --json,
// else the message, every reason and the next steps on stderr. The exit code is the error's.
import { ExitCode, type JitError } from '../errors.js'

export async function renderError(error: JitError, json: boolean): Promise<void> {
  process.exitCode = error.exitCode
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`)
    return
  }
  const { ui } = await import('./output.js')
  // Pending (exit 8) is a state, not a failure: said without the failure mark.
  ;(error.exitCode === ExitCode.pending ? ui.info : ui.fail)(error.message)
  const reasons = (error.details.reasons as string[] | undefined) ?? []
  for (const reason of reasons) process.stderr.write(`    - ${reason}\n`)
  for (const step of error.nextSteps) process.stderr.write(`  → ${step}\n`)
}
