// Session ids whose revocation could not reach the broker. Never a credential: only the id,
// the broker and when. Retried on every later jit run until the broker confirms.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { configDir } from '../config/config.js'

export interface PendingRevocation {
  sessionId: string
  profile: string
  broker: string
  reason: string
  since: string
}

const journalPath = () => join(configDir(), 'revocation-journal.json')

export function readJournal(): PendingRevocation[] {
  try {
    return JSON.parse(readFileSync(journalPath(), 'utf8')) as PendingRevocation[]
  } catch {
    return []
  }
}

function writeJournal(entries: PendingRevocation[]): void {
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
