// Cached credentials in the OS keychain, one entry per session, each with its expiry. An expired
// entry is deleted the moment anything reads or lists the cache, and is never returned. Expiry is
// the broker's `expiresIn` (not the laptop's reading of `exp`) counted on two clocks, the wall clock
// and time since boot; the entry is gone as soon as either says so, so a laptop clock that is wrong
// or set back cannot keep a credential alive. Which entries exist is kept in the session index
// (ids and deadlines, no secrets), so listing never enumerates the keychain, and every change
// happens under the cache lock shared by all jit processes.
import type { Keychain } from './keychain.js'
import { markEnded, putInIndex, readIndex, removeFromIndex, withCacheLock, type IndexEntry } from './session-index.js'
import { systemClock, type Clock } from '../../util/clock.js'
import type { Grant, SessionInfo, TargetLogin } from '../../wire/api.js'

interface Deadline {
  /** Local epoch ms after which the entry counts as gone (broker's expiresIn minus a margin). */
  expiresAtMs: number
  /** The same deadline in ms since boot, valid while bootId is the current boot. */
  expiresAtBootMs?: number
  bootId?: string
}

export interface CachedCredential extends Deadline {
  session: SessionInfo
  credential: string
  /** The session's login on its asset's target, kept beside the credential and nowhere else. */
  target?: TargetLogin
}

/** What listing the cache tells: which session, until when; never the credential. */
export type CachedEntry = IndexEntry

/** Treat a credential as gone a little before the broker does, so it never fails mid-use. */
export const EXPIRY_MARGIN_MS = 5000

export class CredentialCache {
  constructor(readonly keychain: Keychain, readonly deviceId: string, readonly clock: Clock = systemClock) {}

  #account(sessionId: string): string {
    return `cred:${this.deviceId}:${sessionId}`
  }

  /** Expiry comes from the broker's expiresIn, not the laptop's idea of the wall-clock time of exp. */
  entryFor(grant: Grant): CachedCredential {
    const leftMs = grant.expiresIn * 1000 - EXPIRY_MARGIN_MS
    return {
      session: grant.session,
      credential: grant.credential,
      ...(grant.target ? { target: grant.target } : {}),
      expiresAtMs: this.clock.wallMs() + leftMs,
      expiresAtBootMs: this.clock.bootMs() + leftMs,
      bootId: this.clock.bootId(),
    }
  }

  /** Gone once either clock has passed its deadline; after a reboot only the wall clock is left to ask. */
  isExpired(entry: Deadline): boolean {
    if (entry.expiresAtMs <= this.clock.wallMs()) return true
    return entry.bootId === this.clock.bootId() && entry.expiresAtBootMs !== undefined && entry.expiresAtBootMs <= this.clock.bootMs()
  }

  /** Milliseconds the entry still counts as live (0 when gone). */
  msLeft(entry: Deadline): number {
    if (this.isExpired(entry)) return 0
    const wall = entry.expiresAtMs - this.clock.wallMs()
    return entry.bootId === this.clock.bootId() && entry.expiresAtBootMs !== undefined ? Math.min(wall, entry.expiresAtBootMs - this.clock.bootMs()) : wall
  }

  /** Indexed first, then stored: an item in the keychain is always one the index knows of. */
  async put(grant: Grant): Promise<CachedCredential> {
    const entry = this.entryFor(grant)
    const sessionId = grant.session.id
    await withCacheLock(async () => {
      putInIndex({ deviceId: this.deviceId, sessionId, expiresAtMs: entry.expiresAtMs, expiresAtBootMs: entry.expiresAtBootMs, bootId: entry.bootId })
      try {
        await this.keychain.set(this.#account(sessionId), JSON.stringify(entry))
      } catch (error) {
        removeFromIndex(this.deviceId, sessionId)
        throw error
      }
    })
    return entry
  }

  async get(sessionId: string): Promise<CachedCredential | undefined> {
    return withCacheLock(async () => {
      if (this.#mine().find((e) => e.sessionId === sessionId)?.ended) {
        await this.#forget(sessionId)
        return undefined
      }
      const raw = await this.keychain.get(this.#account(sessionId))
      const entry = raw === null ? undefined : parse(raw)
      if (entry && !this.isExpired(entry)) return entry
      await this.#forget(sessionId)
      return undefined
    })
  }

  /**
   * This device's cached sessions, from the index: no keychain read, nothing enumerated. One that
   * expired or ended is purged on the way (its item deleted from the keychain, then from the index).
   */
  async list(): Promise<CachedEntry[]> {
    return withCacheLock(async () => {
      const live: CachedEntry[] = []
      for (const entry of this.#mine()) {
        if (entry.ended || this.isExpired(entry)) await this.#forget(entry.sessionId)
        else live.push(entry)
      }
      return live
    })
  }

  /**
   * Removed from the keychain, then from the index. The session has ended: if the keychain fails
   * (locked, gone), the index marks the entry ended, and the next read of the cache purges it
   * instead of handing out the credential.
   */
  async delete(sessionId: string): Promise<boolean> {
    return withCacheLock(async () => {
      try {
        return await this.#forget(sessionId)
      } catch (error) {
        markEnded(this.deviceId, sessionId)
        throw error
      }
    })
  }

  /** Every entry of this device (logout); returns how many there were. */
  async clear(): Promise<number> {
    return withCacheLock(async () => {
      const mine = this.#mine()
      for (const entry of mine) await this.#forget(entry.sessionId)
      return mine.length
    })
  }

  #mine(): IndexEntry[] {
    return readIndex().filter((e) => e.deviceId === this.deviceId)
  }

  async #forget(sessionId: string): Promise<boolean> {
    const deleted = await this.keychain.delete(this.#account(sessionId))
    removeFromIndex(this.deviceId, sessionId)
    return deleted
  }
}

function parse(raw: string): CachedCredential | undefined {
  try {
    const entry = JSON.parse(raw) as CachedCredential
    return typeof entry.expiresAtMs === 'number' && typeof entry.credential === 'string' && entry.session?.id ? entry : undefined
  } catch {
    return undefined
  }
}
