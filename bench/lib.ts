// Shared by every benchmark section. Sections run on Node's own TypeScript support and use the
// built code in dist/ (npm run bench builds first). A section returns rows; bench/run.ts
// prints them as one table beside the machine's own baseline and writes a JSON file.

export interface BenchRow {
  section: string
  name: string
  /** The headline figure of the row (a median, a rate, ...). */
  value: number
  unit: string
  /** Latency percentiles, always in milliseconds. */
  p50?: number
  p99?: number
  /** What the figure is compared with, measured in the same run (e.g. bare `node -e 0`). */
  baseline?: { name: string; value: number }
  ratio?: number
  /** The brief's target, in words, e.g. "p99 < 0.2 ms". */
  target?: string
  /** Whether the target is met, when it can be judged. */
  met?: boolean
  note?: string
}

export interface BenchOptions {
  /** A tiny run: the harness itself is tested with this; figures mean nothing. */
  quick: boolean
  /** The project root. */
  root: string
}

export type Section = (options: BenchOptions) => Promise<BenchRow[]>

/** A section that measured some of its rows and then could not go on: run.ts prints the rows and marks the section failed. */
export class PartialSectionError extends Error {
  readonly rows: BenchRow[]
  constructor(message: string, rows: BenchRow[]) {
    super(message)
    this.rows = rows
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}

export const median = (values: number[]) => percentile(values, 50)

/** Milliseconds since an arbitrary point, from the monotonic clock. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6

// ---- helpers for bench/run.ts and the sections ------------------------------------------------

/** What the figures were measured on; saved beside them in the JSON file. */
export interface MachineInfo {
  cpus: number
  cpuModel: string
  node: string
  platform: string
  arch: string
  totalMemoryMb: number
  loadAverage: number[]
}

export interface BenchReport {
  timestamp: string
  quick: boolean
  machine: MachineInfo
  /** Facts about the method that hold for every row (e.g. where the load generator ran). */
  notes: string[]
  sections: { name: string; seconds: number; error?: string }[]
  rows: BenchRow[]
}

export const TABLE_COLUMNS = ['section', 'name', 'value', 'p50', 'p99', 'baseline', 'ratio', 'target', 'met', 'note'] as const

/** A figure with a sensible number of digits: 3 significant, no exponent, thousands grouped. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return ''
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** One row as the table's cells, in TABLE_COLUMNS order. */
export function rowCells(row: BenchRow): string[] {
  const withUnit = (value: number | undefined, unit: string) => (value === undefined ? '' : `${formatNumber(value)} ${unit}`)
  return [
    row.section,
    row.name,
    withUnit(row.value, row.unit),
    withUnit(row.p50, 'ms'),
    withUnit(row.p99, 'ms'),
    row.baseline ? `${row.baseline.name} ${formatNumber(row.baseline.value)} ${row.unit}` : '',
    row.ratio === undefined ? '' : `${row.ratio.toFixed(2)}x`,
    row.target ?? '',
    row.met === undefined ? '' : row.met ? 'yes' : 'NO',
    row.note ?? '',
  ]
}

/** Plain fixed-width table for the terminal. */
export function formatTable(rows: BenchRow[]): string {
  const lines = [[...TABLE_COLUMNS] as string[], ...rows.map(rowCells)]
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...lines.map((cells) => cells[i].length)))
  const render = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()
  return [render(lines[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(render)].join('\n')
}

/** The same table in Markdown, for docs/PERFORMANCE.md. */
export function markdownTable(rows: BenchRow[]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|')
  return [
    `| ${TABLE_COLUMNS.join(' | ')} |`,
    `|${TABLE_COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${rowCells(row).map(escape).join(' | ')} |`),
  ].join('\n')
}
