// oclif's hook for a command line that names no command: "did you mean" from the commands that
// exist, as a usage error (exit 2), and as one JSON document on stdout under --json.
import type { Hook } from '@oclif/core'
import { UsageError } from '../../errors.js'
import { closest } from '../../util/closest.js'
import { renderError } from '../error-output.js'

const hook: Hook<'command_not_found'> = async function ({ id, argv, config }) {
  const typed = id.replaceAll(':', ' ')
  const commands = config.commandIDs.map((c) => c.replaceAll(':', ' '))
  // "jit sessions pikup": compare as many words as the nearest commands have.
  const words = typed.split(' ')
  const nearest = closest(typed, commands).concat(closest(words.slice(0, 2).join(' '), commands), closest(words[0], commands))
  const suggestions = [...new Set(nearest)].slice(0, 3).map((c) => `jit ${c}`)
  const json = (argv ?? []).includes('--json') || process.argv.includes('--json')
  const error = new UsageError(
    `"${typed}" is not a jit command.${suggestions.length > 0 ? ` Did you mean ${suggestions[0]}?` : ''}`,
    [...(suggestions.length > 1 ? [`Also close: ${suggestions.slice(1).join(', ')}`] : []), 'jit --help lists every command.'],
    { suggestions },
  )
  await renderError(error, json)
}

export default hook
