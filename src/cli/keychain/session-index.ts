// Which sessions have a credential cached in the keychain, with each one's expiry: a small state
// file beside the config, ids and deadlines only (never a secret). Listing the cache reads this
// file instead of enumerating the keychain, and an entry whose keychain item could not be removed
// (keychain locked or gone) stays here until a later run removes the item, so nothing is forgotten.
import { join } from 'node:path'
import { configDir } from '../config/config.js'
import { withFileLock } from '../config/file-lock.js'
import { ListFile } from '../config/state-file.js'

export interface IndexEntry {
  deviceId: string
  sessionId: string
  /** The cached entry's deadlines (see CachedCredential). */
  expiresAtMs: number
  expiresAtBootMs?: number
  bootId?: string
  /** The session ended but its keychain item could not be deleted: purge it at the next read. */
  ended?: boolean
}

const file = new ListFile<IndexEntry>('cached-sessions.json')

export const sessionIndexPath = () => file.path

/**
 * Runs fn holding the cache lock, shared by every jit process of this user. Every change to the
 * index and to the cached items in the keychain happens under it, so a process never reads an
 * item another is deleting, and the index and the keychain never disagree for long.
 */
export function withCacheLock<T>(fn: () => Promise<T> | T): Promise<T> {
  return withFileLock(join(configDir(), 'cached-sessions.lock'), fn)
}

/** Call only while holding the cache lock. */
export function readIndex(): IndexEntry[] {
  return file.read().filter((e) => typeof e?.sessionId === 'string' && typeof e.expiresAtMs === 'number')
}

/** Call only while holding the cache lock. */
export function putInIndex(entry: IndexEntry): void {
  file.write([...readIndex().filter((e) => !same(e, entry)), entry])
}

/** Call only while holding the cache lock. */
export function markEnded(deviceId: string, sessionId: string): void {
  const entries = readIndex()
  const entry = entries.find((e) => same(e, { deviceId, sessionId }))
  if (entry && !entry.ended) file.write(entries.map((e) => (e === entry ? { ...e, ended: true } : e)))
}

/** Call only while holding the cache lock. */
export function removeFromIndex(deviceId: string, sessionId: string): void {
  const entries = readIndex()
  if (entries.some((e) => same(e, { deviceId, sessionId }))) file.write(entries.filter((e) => !same(e, { deviceId, sessionId })))
}

const same = (a: Pick<IndexEntry, 'deviceId' | 'sessionId'>, b: Pick<IndexEntry, 'deviceId' | 'sessionId'>) => a.deviceId === b.deviceId && a.sessionId === b.sessionId
