// Shared by every benchmark section. Sections run on Node's own TypeScript support and use the
// built code in dist/ (npm run bench builds first). A section returns rows; bench/run.ts
// prints them as one table beside the machine's own baseline and writes a JSON file.

export interface BenchRow {
  section: string
  name: string
  /** The headline figure of the row (a median, a rate, ...). */
  value: number
  unit: string
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

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]
}

export const median = (values: number[]) => percentile(values, 50)

/** Milliseconds since an arbitrary point, from the monotonic clock. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6
