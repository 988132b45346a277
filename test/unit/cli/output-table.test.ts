// The ASCII table drawn without cli-table3 must be exactly what cli-table3 draws, colour on or off.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import Table from 'cli-table3'
import chalk from 'chalk'
import { asciiTable, table } from '../../../src/cli/output.js'

function cliTable3(head: string[], rows: string[][]): string {
  const t = new Table({ head: head.map((h) => chalk.bold(h)), style: { head: [], border: [] } })
  t.push(...rows)
  return t.toString()
}

const asciiCell = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 12 })

describe('asciiTable', () => {
  for (const level of [0, 1] as const) {
    it(`draws what cli-table3 draws (chalk level ${level})`, () => {
      const saved = chalk.level
      chalk.level = level
      try {
        fc.assert(
          fc.property(fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(fc.array(asciiCell.filter((h) => h.length > 0), { minLength: n, maxLength: n }), fc.array(fc.array(asciiCell, { minLength: n, maxLength: n }), { maxLength: 5 }))), ([head, rows]) => {
            expect(asciiTable(head, rows)).toBe(cliTable3(head, rows))
          }),
          { numRuns: 300 },
        )
      } finally {
        chalk.level = saved
      }
    })
  }

  it('leaves anything but printable ASCII, and ragged rows, to cli-table3', async () => {
    expect(asciiTable(['id'], [['café']])).toBeUndefined()
    expect(asciiTable(['id'], [['機械']])).toBeUndefined()
    expect(asciiTable(['id', 'x'], [['a']])).toBeUndefined()
    // table() still draws them, through cli-table3.
    expect(await table(['id'], [['機械']])).toBe(cliTable3(['id'], [['機械']]))
  })

  it('shows control characters as escapes, as before', async () => {
    expect(await table(['reason'], [['a\x1b[2Jb']])).toBe(cliTable3(['reason'], [['a\\x1b[2Jb']]))
  })
})
