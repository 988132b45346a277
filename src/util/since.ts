// "Since when" as people and scripts write it: a duration back from now (90s, 30m, 1h, 2d) or an
// ISO 8601 time (2026-11-01, 2026-11-01T06:00:00Z). Anything else is refused, never guessed.
import { UsageError } from '../errors.js'
import { parseDuration } from './ttl.js'

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i

/** An ISO 8601 time as a UTC instant (the audit log's own format), or undefined if it is none. */
export function isoInstant(text: string): string | undefined {
  if (!ISO.test(text.trim())) return undefined
  const ms = Date.parse(text.trim())
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
}

/** The instant a --since value names, as an ISO UTC time; a UsageError (exit 2) for anything else. */
export function parseSince(text: string, nowMs = Date.now()): string {
  const instant = isoInstant(text)
  if (instant) return instant
  try {
    return new Date(nowMs - parseDuration(text, '--since') * 1000).toISOString()
  } catch {
    throw new UsageError(`--since "${text}" is neither a duration nor an ISO time.`, ['Write a duration back from now (30m, 1h, 2d) or an ISO time (2026-11-01 or 2026-11-01T06:00:00Z).'])
  }
}
