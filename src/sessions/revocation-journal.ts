// Session ids whose revocation could not reach the broker. Never a credential: only the id,
// the broker and when. Retried on every later jit run until the broker confirms. An empty journal
// is no file at all, so the cold start of every command pays one failed stat for it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { configDir } from '../config/config.js'
import { BrokerUnreachableError, JitError } from '../errors.js'

export interface PendingRevocation {
  sessionId: string
  profile: string
  broker: string
  reason: string
  since: string
}

export const journalPath = () => join(configDir(), 'revocation-journal.json')

/** Cheap enough for every start-up: no read, no parse. */
export function hasPendingRevocations(): boolean {
  return existsSync(journalPath())
}

export function readJournal(): PendingRevocation[] {
  try {
    return JSON.parse(readFileSync(journalPath(), 'utf8')) as PendingRevocation[]
  } catch {
    return []
  }
}

function writeJournal(entries: PendingRevocation[]): void {
  if (entries.length === 0) {
    rmSync(journalPath(), { force: true })
    return
  }
  mkdirSync(configDir(), { recursive: true, mode: 0o700 })
  const tmp = `${journalPath()}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, journalPath())
}

export function addToJournal(entry: PendingRevocation): void {
  writeJournal([...readJournal().filter((e) => e.sessionId !== entry.sessionId), entry])
}

export function removeFromJournal(sessionId: string): void {
  const entries = readJournal()
  if (entries.some((e) => e.sessionId === sessionId)) writeJournal(entries.filter((e) => e.sessionId !== sessionId))
}

/** The broker did not answer for it (down, unreachable, timed out, or failed inside): keep it for later. */
export function isUnconfirmed(error: unknown): boolean {
  if (error instanceof BrokerUnreachableError) return true
  const name = (error as Error | undefined)?.name
  if (name === 'TimeoutError' || name === 'AbortError') return true
  // A 5xx from the broker arrives as a plain JitError ('unexpected'); its 4xx answers are typed.
  return error instanceof JitError && error.constructor === JitError
}
