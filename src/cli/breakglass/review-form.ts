// The post-event review as a person answers it: interactively (inquirer, at a terminal) or from
// a YAML/JSON file for unattended runs. Either way the same fields, the same checks.
import { readFileSync } from 'node:fs'
import { emitKeypressEvents } from 'node:readline'
import { parse } from 'yaml'
import { ReviewBlockedError, UsageError } from '../../errors.js'
import type { Review, ReviewAnswers } from '../../wire/api.js'

const FIELDS: Record<string, keyof ReviewAnswers> = {
  whatwasdone: 'whatWasDone',
  whynotnormalpath: 'whyNotNormalPath',
  changestoasset: 'changesToAsset',
  rollbackneeded: 'rollbackNeeded',
  followupticket: 'followUpTicket',
}

/** Reads answers from a file; accepts what_was_done or whatWasDone style keys. */
export function readReviewFile(file: string): ReviewAnswers {
  let raw: unknown
  try {
    raw = parse(readFileSync(file, 'utf8'))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UsageError(code ? `Cannot read the review file ${file} (${code}).` : `The review file ${file} is not valid YAML or JSON.`)
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`The review file ${file} must be a mapping of answers.`, [exampleHint])
  const answers: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    const field = FIELDS[key.replace(/[_-]/g, '').toLowerCase()]
    if (!field) throw new UsageError(`The review file has an unknown field "${key}".`, [exampleHint])
    answers[field] = value
  }
  return checkAnswers(answers, file)
}

const exampleHint = 'Expected: what_was_done, why_not_normal_path, changes_to_asset, rollback_needed (true/false), follow_up_ticket (optional).'

export function checkAnswers(answers: Record<string, unknown>, where = 'the review'): ReviewAnswers {
  const missing = (['whatWasDone', 'whyNotNormalPath', 'changesToAsset'] as const).filter((k) => typeof answers[k] !== 'string' || !(answers[k] as string).trim())
  if (missing.length > 0) throw new UsageError(`${where} leaves out: ${missing.join(', ')}.`, [exampleHint])
  if (typeof answers.rollbackNeeded !== 'boolean') throw new UsageError(`${where}: rollback_needed must be true or false.`, [exampleHint])
  // Empty or null means none, as the prompt says ("leave empty if none").
  if (answers.followUpTicket === null || (typeof answers.followUpTicket === 'string' && !answers.followUpTicket.trim())) answers.followUpTicket = undefined
  if (answers.followUpTicket !== undefined && typeof answers.followUpTicket !== 'string') {
    throw new UsageError(`${where}: follow_up_ticket must be a ticket id, or left empty.`)
  }
  return {
    whatWasDone: (answers.whatWasDone as string).trim(),
    whyNotNormalPath: (answers.whyNotNormalPath as string).trim(),
    changesToAsset: (answers.changesToAsset as string).trim(),
    rollbackNeeded: answers.rollbackNeeded as boolean,
    followUpTicket: (answers.followUpTicket as string | undefined)?.trim(),
  }
}

/**
 * Asks the five questions at the terminal. Ctrl-C or Ctrl-D at any of them means "not now": a
 * ReviewBlockedError (exit 7) that says the review is still due and how to file it.
 */
export async function promptReview(review: Pick<Review, 'id' | 'asset' | 'sessionId'>): Promise<ReviewAnswers> {
  const { input, confirm } = await import('@inquirer/prompts')
  process.stderr.write(`\nPost-event review ${review.id} for break-glass on ${review.asset} (session ${review.sessionId}). It is mandatory.\n`)
  // inquirer turns Ctrl-C into an error at once, but Ctrl-D only closes its reader and the
  // question would hang until exit: a Ctrl-D keypress aborts the question instead.
  const leave = new AbortController()
  const onKey = (_: string, key?: { ctrl?: boolean; name?: string }) => key?.ctrl && key.name === 'd' && leave.abort()
  emitKeypressEvents(process.stdin)
  process.stdin.on('keypress', onKey)
  const context = { signal: leave.signal }
  const required = (value: string) => (value.trim() ? true : 'An answer is needed.')
  try {
    const whatWasDone = await input({ message: 'What was done on the asset?', validate: required }, context)
    const whyNotNormalPath = await input({ message: 'Why could the normal approval path not be used?', validate: required }, context)
    const changesToAsset = await input({ message: 'What changed on the asset (settings, firmware, wiring)?', validate: required }, context)
    const rollbackNeeded = await confirm({ message: 'Is a rollback needed?', default: false }, context)
    const followUp = await input({ message: 'Follow-up ticket (leave empty if none):' }, context)
    return checkAnswers({ whatWasDone, whyNotNormalPath, changesToAsset, rollbackNeeded, followUpTicket: followUp.trim() || undefined })
  } catch (error) {
    if (!['ExitPromptError', 'AbortPromptError'].includes((error as Error).name)) throw error
    process.stderr.write('\n')
    throw new ReviewBlockedError(`Review ${review.id} not filed; new sessions stay blocked; file it with jit review ${review.id}`, [`jit review ${review.id}   (or unattended: jit review ${review.id} --file review.yaml)`], { reviewId: review.id })
  } finally {
    process.stdin.removeListener('keypress', onKey)
  }
}
