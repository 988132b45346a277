// A lock shared by every jit process of this user: a lock file created with O_EXCL beside the
// state it guards. Whoever creates the file holds the lock; the others wait. A holder that died
// (its pid is gone) or has held the lock far longer than any holder should leaves a stale lock,
// which the next waiter breaks, so a jit killed at the wrong moment never blocks the next one.
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import { JitError } from '../../errors.js'
import { processAlive } from '../../util/process-alive.js'
import { makePrivateFolder } from '../../util/private-folder.js'

export interface LockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number
  /** A lock held longer than this counts as left behind, whoever holds it. */
  staleMs?: number
}

const DEFAULTS = { timeoutMs: 20_000, staleMs: 30_000 }

/** Runs fn while holding the lock at lockPath; the lock is released however fn ends. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T> | T, options: LockOptions = {}): Promise<T> {
  const release = await acquire(lockPath, { ...DEFAULTS, ...options })
  try {
    return await fn()
  } finally {
    release()
  }
}

/**
 * Runs fn holding the lock if nobody else holds it (a stale lock counts as free); returns
 * { ran: false } at once otherwise. For work that one process may do for all of them.
 */
export async function tryFileLock<T>(lockPath: string, fn: () => Promise<T> | T, options: Pick<LockOptions, 'staleMs'> = {}): Promise<{ ran: true; value: T } | { ran: false }> {
  const release = await acquire(lockPath, { ...DEFAULTS, ...options, timeoutMs: 0 }).catch((error: unknown) => {
    if (error instanceof LockBusyError) return undefined
    throw error
  })
  if (!release) return { ran: false }
  try {
    return { ran: true, value: await fn() }
  } finally {
    release()
  }
}

class LockBusyError extends JitError {}

async function acquire(lockPath: string, options: Required<LockOptions>): Promise<() => void> {
  makePrivateFolder(dirname(lockPath))
  const owner = `${process.pid} ${randomBytes(6).toString('hex')}`
  const deadline = performance.now() + options.timeoutMs
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(lockPath, owner)) return () => releaseIfOwned(lockPath, owner)
    const stale = staleOwner(lockPath, options.staleMs)
    if (stale !== undefined) {
      breakStale(lockPath, stale)
      continue
    }
    if (performance.now() >= deadline) {
      throw new LockBusyError(`Another jit process has held ${lockPath} for more than ${options.timeoutMs / 1000}s.`, [
        'Wait for the other jit command to finish and try again; if none is running, delete that file.',
      ])
    }
    // Short, jittered waits: holders keep the lock for milliseconds.
    await new Promise((resolve) => setTimeout(resolve, Math.min(5 + attempt * 5, 50) + Math.random() * 10))
  }
}

function tryCreate(lockPath: string, owner: string): boolean {
  let fd: number
  try {
    fd = openSync(lockPath, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    writeSync(fd, owner)
  } finally {
    closeSync(fd)
  }
  return true
}

function readOwner(lockPath: string): { text: string; ageMs: number } | undefined {
  try {
    const ageMs = Date.now() - statSync(lockPath).mtimeMs
    return { text: readFileSync(lockPath, 'utf8'), ageMs }
  } catch {
    return undefined // released meanwhile
  }
}

/** The owner text of a lock left behind (its holder's process is gone, or it is older than any holder keeps it). */
function staleOwner(lockPath: string, staleMs: number): string | undefined {
  const seen = readOwner(lockPath)
  if (!seen) return undefined
  if (seen.ageMs > staleMs) return seen.text
  const pid = Number(seen.text.split(' ')[0])
  // An empty file is one being written this instant: not stale unless it stays that way (age above).
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  return processAlive(pid) ? undefined : seen.text
}


/**
 * Moves the stale lock aside atomically and removes it. Two waiters may both judge it stale; the
 * rename lets only one of them take it, and if what it took was a fresh lock created in between
 * (not the stale one), it puts that lock back.
 */
function breakStale(lockPath: string, staleText: string): void {
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.stale`
  try {
    renameSync(lockPath, aside)
  } catch {
    return // someone else broke it first
  }
  try {
    if (readFileSync(aside, 'utf8') !== staleText) linkSync(aside, lockPath)
  } catch {
    // A new holder created the lock meanwhile: it keeps it.
  } finally {
    unlinkSync(aside)
  }
}

function releaseIfOwned(lockPath: string, owner: string): void {
  try {
    if (readFileSync(lockPath, 'utf8') === owner) unlinkSync(lockPath)
  } catch {
    // Already gone (broken as stale after a very long hold): nothing to release.
  }
}
