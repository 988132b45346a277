// Human output: chalk colours (chalk already honours NO_COLOR and non-TTY), cli-table3 tables
// (drawn without cli-table3 when every cell is plain ASCII).
// Status lines go to stderr; data goes to stdout.
import { writeFileSync } from 'node:fs'
import chalk from 'chalk'
import { UsageError } from '../errors.js'
import { printable } from '../util/printable.js'

export const ui = {
  ok: (text: string) => process.stderr.write(`${chalk.green('✔')} ${text}\n`),
  info: (text: string) => process.stderr.write(`${chalk.cyan('›')} ${text}\n`),
  warn: (text: string) => process.stderr.write(`${chalk.yellow('!')} ${chalk.yellow(text)}\n`),
  fail: (text: string) => process.stderr.write(`${chalk.red('✖')} ${text}\n`),
  step: (text: string) => process.stderr.write(`\n${chalk.bold(text)}\n`),
  dim: (text: string) => chalk.dim(text),
  bold: (text: string) => chalk.bold(text),
}

/** A table of data: every cell may hold text someone else typed, so each is made printable (src/util/printable.ts). */
export async function table(head: string[], rows: (string | number)[][]): Promise<string> {
  const cells = rows.map((row) => row.map(printable))
  const plain = asciiTable(head, cells)
  if (plain !== undefined) return plain
  const { default: Table } = await import('cli-table3')
  const t = new Table({ head: head.map((h) => chalk.bold(h)), style: { head: [], border: [] } })
  t.push(...cells)
  return t.toString()
}

const ASCII = /^[\x20-\x7e]*$/

/**
 * The same table as cli-table3 draws (same borders, padding and bold header), for the common
 * case where every cell is printable ASCII, so one character is one column: loading and running
 * cli-table3 (string widths, wrapping) is a noticeable part of `jit sessions`. Undefined for
 * anything else, which cli-table3 draws. A unit test compares the two.
 */
export function asciiTable(head: string[], rows: string[][]): string | undefined {
  if (head.length === 0 || ![head, ...rows].every((row) => row.length === head.length && row.every((cell) => ASCII.test(cell)))) return undefined
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((row) => row[i].length)))
  const rule = (left: string, middle: string, right: string) => `${left}${widths.map((w) => '─'.repeat(w + 2)).join(middle)}${right}`
  const line = (row: string[], style: (text: string) => string = (text) => text) => `│${row.map((cell, i) => ` ${style(cell)}${' '.repeat(widths[i] - cell.length)} `).join('│')}│`
  const body = [line(head, (text) => chalk.bold(text)), ...rows.map((row) => line(row))]
  return [rule('┌', '┬', '┐'), body.join(`\n${rule('├', '┼', '┤')}\n`), rule('└', '┴', '┘')].join('\n')
}

export function timeLeft(expiresAtMs: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((expiresAtMs - now) / 1000))
  if (seconds === 0) return 'expired'
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`
}

/** A one-line progress indicator on stderr while waiting; silent when stderr is not a terminal. */
export function spinner(text: string): { update(text: string): void; stop(): void } {
  if (!process.stderr.isTTY) {
    process.stderr.write(`${text}\n`)
    return { update() {}, stop() {} }
  }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  let i = 0
  let current = text
  const timer = setInterval(() => process.stderr.write(`\r${chalk.cyan(frames[i++ % frames.length])} ${current}\x1b[K`), 100)
  return {
    update(next: string) {
      current = next
    },
    stop() {
      clearInterval(timer)
      process.stderr.write('\r\x1b[K')
    },
  }
}

/**
 * A document a command produces (an audit export, an evidence file): into --output, a new file
 * only this user reads (never over an existing one), or to stdout unless --json answers instead.
 */
export function deliverDocument(output: string | undefined, text: string, json: boolean): void {
  if (!output) {
    if (!json) process.stdout.write(text)
    return
  }
  try {
    writeFileSync(output, text, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    throw new UsageError(`Cannot write ${output} (${(error as NodeJS.ErrnoException).code ?? 'error'}); it must not exist yet.`)
  }
}
