// Session ids whose revocation could not reach the broker. Never a credential: only the id,
// the broker and when. Retried on every later jit run until the broker confirms. An empty journal
// is no file at all, so the cold start of every command pays one failed stat for it. Every change
// is a read-modify-write under a lock shared by all jit processes, so sessions ending at the same
// moment in different terminals never lose (or duplicate) an entry.
import { withFileLock, tryFileLock } from '../config/file-lock.js'
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
const lockPath = () => `${journal.path}.lock`

export function addToJournal(entry: PendingRevocation): Promise<void> {
  return withFileLock(lockPath(), () => writeJournal([...readJournal().filter((e) => e.sessionId !== entry.sessionId), entry]))
}

export async function removeFromJournal(sessionId: string): Promise<void> {
  // No journal, no entry: only this process would add one for its own session.
  if (!journal.exists()) return
  return withFileLock(lockPath(), () => {
    const entries = readJournal()
    if (entries.some((e) => e.sessionId === sessionId)) writeJournal(entries.filter((e) => e.sessionId !== sessionId))
  })
}

const drainLockPath = () => `${journal.path}.drain.lock`
/** A drain waits on brokers (a timeout each); one held longer than this was left behind. */
const DRAIN_STALE_MS = 120_000

/**
 * Runs a drain with the drain lock: one process at a time sends the journal's revocations, so
 * none is sent twice at once. wait: false skips the drain when another process is at it (that
 * one confirms the entries for everybody, and a broker that is down costs its timeout once).
 */
export async function withDrainLock<T>(fn: () => Promise<T>, wait: boolean): Promise<T | undefined> {
  if (wait) return withFileLock(drainLockPath(), fn, { staleMs: DRAIN_STALE_MS, timeoutMs: DRAIN_STALE_MS })
  const outcome = await tryFileLock(drainLockPath(), fn, { staleMs: DRAIN_STALE_MS })
  return outcome.ran ? outcome.value : undefined
}

/** The broker did not answer for it (down, unreachable, timed out, or failed inside): keep it for later. */
export function isUnconfirmed(error: unknown): boolean {
  if (error instanceof BrokerUnreachableError) return true
  const name = (error as Error | undefined)?.name
  if (name === 'TimeoutError' || name === 'AbortError') return true
  // A 5xx from the broker arrives as a plain JitError ('unexpected'); its 4xx answers are typed.
  return error instanceof JitError && error.constructor === JitError
}
