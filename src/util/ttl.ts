// Durations as people type them: 90s, 30m, 2h, 1h30m. Bounded so nonsense never reaches the broker.
import { UsageError } from '../errors.js'

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }
const PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/

/** Parses a duration into whole seconds; throws a UsageError for anything else. */
export function parseDuration(text: string, what = 'TTL'): number {
  const trimmed = text.trim()
  const match = PATTERN.exec(trimmed)
  if (trimmed === '' || !match || match.slice(1).every((part) => part === undefined)) {
    throw new UsageError(`${what} "${text}" is not a duration.`, [`Write it as a number with a unit, e.g. 30m, 2h or 1h30m.`])
  }
  const [, d, h, m, s] = match
  return ['d', 'h', 'm', 's'].reduce((sum, unit, i) => sum + Number([d, h, m, s][i] ?? 0) * UNIT_SECONDS[unit], 0)
}

export function formatDuration(seconds: number): string {
  if (seconds <= 0) return '0s'
  const parts: string[] = []
  let rest = Math.round(seconds)
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size)
    if (n > 0) parts.push(`${n}${unit}`)
    rest -= n * size
  }
  return parts.slice(0, 2).join('')
}
