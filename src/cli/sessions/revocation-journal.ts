// Session ids whose revocation could not reach the broker. Never a credential: only the id,
// the broker and when. Retried on every later jit run until the broker confirms. An empty journal
// is no file at all, so the cold start of every command pays one failed stat for it.
import { ListFile } from '../config/state-file.js'
import { BrokerUnreachableError, JitError } from '../../errors.js'

export interface PendingRevocation {
  sessionId: string
  profile: string
  broker: string
  reason: string
  since: string
}

const journal = new ListFile<PendingRevocation>('revocation-journal.json')

export const journalPath = () => journal.path

/** Cheap enough for every start-up: no read, no parse. */
export function hasPendingRevocations(): boolean {
  return journal.exists()
}

export function readJournal(): PendingRevocation[] {
  return journal.read()
}

const writeJournal = (entries: PendingRevocation[]) => journal.write(entries)

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
