// The bench harness on a tiny run (--quick): it finds the sections, runs the ones asked for
// against a real broker process, prints a well-formed table and writes a well-formed JSON
// file. Figures are never judged here: timing belongs to the bench, not to tests.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TABLE_COLUMNS, formatTable, markdownTable, percentile, rowCells, type BenchReport, type BenchRow } from '../../bench/lib.js'
import { ROOT, cleanup, tempDir } from './harness.js'

const out = tempDir('jit-bench-test-')
afterAll(() => cleanup(out))

function bench(args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
}

describe('npm run bench, tiny run', () => {
  const file = join(out, 'latest.json')
  const run = bench(['--quick', '--only', 'throughput,audit-verify', '--out', file])

  it('exits 0 and prints one table with every column and a line per figure', () => {
    expect(run.status, run.stderr).toBe(0)
    const lines = run.stdout.split('\n')
    const header = lines.find((line) => line.startsWith('section'))!
    expect(header.split(/\s{2,}/)).toEqual([...TABLE_COLUMNS])
    const figures = lines.filter((line) => /^(throughput|audit-verify)\s/.test(line))
    expect(figures).toHaveLength(5)
    expect(figures.filter((line) => line.includes('concurrency'))).toHaveLength(3)
    expect(run.stdout).toMatch(/load generator .*same machine/i)
    expect(run.stdout).toContain('QUICK')
  })

  it('writes the JSON file with the machine, a timestamp and typed rows', () => {
    const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport
    expect(Number.isNaN(Date.parse(report.timestamp))).toBe(false)
    expect(report.quick).toBe(true)
    expect(report.machine.cpus).toBeGreaterThan(0)
    expect(report.machine.node).toBe(process.version)
    expect(report.sections.map((s) => s.name)).toEqual(['throughput', 'audit-verify'])
    expect(report.sections.every((s) => s.error === undefined)).toBe(true)
    expect(report.rows).toHaveLength(5)
    for (const row of report.rows) {
      expect(typeof row.section).toBe('string')
      expect(typeof row.name).toBe('string')
      expect(Number.isFinite(row.value) && row.value > 0).toBe(true)
      expect(row.unit).toMatch(/^(grants\/s|events\/s)$/)
      expect(typeof row.met).toBe('boolean')
    }
    const load = report.rows.filter((r) => r.section === 'throughput')
    expect(load.map((r) => r.name)).toEqual([1, 16, 64].map((c) => `request → grant, concurrency ${c}`))
    for (const row of load) expect(row.p99!).toBeGreaterThanOrEqual(row.p50!)
    expect(readFileSync(join(out, 'latest.md'), 'utf8').split('\n')[0]).toBe(`| ${TABLE_COLUMNS.join(' | ')} |`)
  })

  it('finds every file in bench/sections and refuses a name that is not there', () => {
    const refused = bench(['--quick', '--only', 'no-such-section', '--out', join(out, 'refused.json')])
    expect(refused.status).toBe(2)
    for (const name of ['audit-verify', 'cold-start', 'request', 'throughput']) expect(refused.stderr).toContain(name)
    expect(existsSync(join(out, 'refused.json'))).toBe(false)
  })
})

describe('table rendering', () => {
  const rows: BenchRow[] = [
    { section: 'cold-start', name: 'jit --version', value: 61.234, unit: 'ms', baseline: { name: 'node -e 0', value: 40 }, ratio: 1.53, target: '<= 2x node -e 0', met: true, note: 'median of 25 runs' },
    { section: 'throughput', name: 'c=1', value: 1234.5, unit: 'grants/s', p50: 0.8, p99: 2.5, met: false },
  ]

  it('aligns every cell under its column and marks a missed target loudly', () => {
    const lines = formatTable(rows).split('\n')
    expect(lines).toHaveLength(4)
    // Each cell starts exactly where its column's header starts.
    const offsets = TABLE_COLUMNS.map((column) => lines[0].indexOf(column))
    rows.forEach((row, r) => {
      rowCells(row).forEach((cell, i) => expect(lines[r + 2].slice(offsets[i], offsets[i] + cell.length)).toBe(cell))
    })
    expect(lines[2]).toContain('61.2 ms')
    expect(lines[2]).toContain('1.53x')
    expect(lines[3]).toContain('1,235 grants/s')
    expect(lines[3]).toContain('NO')
  })

  it('renders the same rows as a Markdown table', () => {
    const lines = markdownTable(rows).split('\n')
    expect(lines).toHaveLength(4)
    for (const line of lines) expect(line.split('|')).toHaveLength(TABLE_COLUMNS.length + 2)
  })

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i)
    expect(percentile(values, 50)).toBe(50)
    expect(percentile(values, 99)).toBe(99)
    expect(percentile([], 50)).toBeNaN()
  })
})
