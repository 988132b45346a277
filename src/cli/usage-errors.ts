// oclif's parse errors in jit's words: every missing flag and argument named with what it is for,
// every bad value with what was expected, a near miss suggested. oclif's own text keeps only a
// first line ("The following error occurred:") once its help hint is gone, so the parts that say
// what went wrong are read from the error and put back in full.
import { UsageError } from '../errors.js'
import { closest } from '../util/closest.js'

interface Described {
  summary?: string
  description?: string
}

/** What the failing command declares, to name its flags and arguments. */
export interface CommandShape {
  id?: string
  flags: Record<string, Described | undefined>
  args: Record<string, Described | undefined>
}

interface ParseError extends Error {
  args?: { name: string; description?: string }[]
  flags?: string[]
}

const ANSI = /\x1b\[[0-9;]*m/g

function linesOf(message: string): string[] {
  return message
    .replace(ANSI, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line !== 'See more help with --help')
}

const what = (item: Described | undefined) => (item?.summary ?? item?.description ?? '').replace(/\.$/, '')

/** A UsageError that says exactly what is wrong with the command line, or undefined if this is no parse error. */
export function usageErrorFrom(error: ParseError & { oclif?: { exit?: number } }, command: CommandShape): UsageError | undefined {
  const lines = linesOf(error.message)
  if (lines.length === 0) return undefined
  const [first, ...rest] = lines
  const name = `jit ${(command.id ?? '').replaceAll(':', ' ')}`.trim()
  const help = [`See ${name} --help for its flags and examples.`]

  if (/^The following errors? occurred:?$/.test(first)) {
    const missing = rest.flatMap((line) => /^Missing required flag (\S+)$/.exec(line)?.[1] ?? [])
    const other = rest.filter((line) => !/^Missing required flag /.test(line))
    const reasons = [...missing.map((flag) => `--${flag}${what(command.flags[flag]) ? `: ${what(command.flags[flag])}` : ''}`), ...other]
    const message = missing.length > 0
      ? `${name} needs ${list(missing.map((f) => `--${f}`))}${other.length > 0 ? `; also: ${other.join('; ')}` : ''}.`
      : `${other.join('; ')}.`
    return new UsageError(message, help, { reasons })
  }

  if (/^Missing \d+ required args?/.test(first)) {
    const args = (error.args ?? []).map((arg) => ({ name: arg.name.toUpperCase(), about: what(command.args[arg.name] ?? arg) }))
    const usage = `${name} ${Object.keys(command.args).map((a) => a.toUpperCase()).join(' ')}`.trim()
    if (args.length === 1) return new UsageError(`${name} needs ${args[0].name}${args[0].about ? ` (${args[0].about})` : ''}. Usage: ${usage}`, help)
    return new UsageError(`${name} needs ${list(args.map((a) => a.name))}. Usage: ${usage}`, help, { reasons: args.map((a) => `${a.name}${a.about ? `: ${a.about}` : ''}`) })
  }

  const parsing = /^Parsing --(\S+)$/.exec(first)
  if (parsing) {
    const problem = rest.join(' ') || 'the value is not valid'
    return new UsageError(`Bad value for --${parsing[1]}: ${problem.replace(/\.$/, '')}.`, help)
  }

  if (error.flags && /^Nonexistent flags?:/.test(first)) {
    const known = Object.keys(command.flags).map((f) => `--${f}`)
    // Named without any =value: a mistyped --code=… must not print the enrollment code.
    const names = error.flags.map((flag) => flag.split('=')[0])
    const hints = names.map((flag) => closest(flag, known)[0]).filter(Boolean)
    return new UsageError(`${name} has no ${names.length === 1 ? 'flag' : 'flags'} ${list(names)}.`, [
      ...(hints.length > 0 ? [`Did you mean ${list(hints)}?`] : []),
      ...help,
    ], hints.length > 0 ? { suggestions: hints } : {})
  }

  if (error.oclif?.exit === 2 || /^(Unexpected arguments?|Expected|--)/.test(first)) {
    return new UsageError(`${lines.join(' ').replace(/\.$/, '')}.`, help)
  }
  return undefined
}

function list(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}
