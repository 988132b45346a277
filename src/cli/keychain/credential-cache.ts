// Cached credentials in the OS keychain, one entry per session, each with its expiry. An expired
// entry is deleted the moment anything reads or lists the cache, and is never returned. Expiry is
// the broker's `expiresIn` (not the laptop's reading of `exp`) counted on two clocks, the wall clock
// and time since boot; the entry is gone as soon as either says so, so a laptop clock that is wrong
// or set back cannot keep a credential alive.
import type { Keychain } from './keychain.js'
import { systemClock, type Clock } from '../../util/clock.js'
import type { Grant, SessionInfo } from '../../wire/api.js'

export interface CachedCredential {
  session: SessionInfo
  credential: string
  /** Local epoch ms after which the entry counts as gone (broker's expiresIn minus a margin). */
  expiresAtMs: number
  /** The same deadline in ms since boot, valid while bootId is the current boot. */
  expiresAtBootMs?: number
  bootId?: string
}

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
      expiresAtMs: this.clock.wallMs() + leftMs,
      expiresAtBootMs: this.clock.bootMs() + leftMs,
      bootId: this.clock.bootId(),
    }
  }

  /** Gone once either clock has passed its deadline; after a reboot only the wall clock is left to ask. */
  isExpired(entry: CachedCredential): boolean {
    if (entry.expiresAtMs <= this.clock.wallMs()) return true
    return entry.bootId === this.clock.bootId() && entry.expiresAtBootMs !== undefined && entry.expiresAtBootMs <= this.clock.bootMs()
  }

  /** Milliseconds the entry still counts as live (0 when gone). */
  msLeft(entry: CachedCredential): number {
    if (this.isExpired(entry)) return 0
    const wall = entry.expiresAtMs - this.clock.wallMs()
    return entry.bootId === this.clock.bootId() && entry.expiresAtBootMs !== undefined ? Math.min(wall, entry.expiresAtBootMs - this.clock.bootMs()) : wall
  }

  async put(grant: Grant): Promise<CachedCredential> {
    const entry = this.entryFor(grant)
    await this.keychain.set(this.#account(grant.session.id), JSON.stringify(entry))
    return entry
  }

  async get(sessionId: string): Promise<CachedCredential | undefined> {
    const raw = await this.keychain.get(this.#account(sessionId))
    if (raw === null) return undefined
    const entry = parse(raw)
    if (!entry || this.isExpired(entry)) {
      await this.keychain.delete(this.#account(sessionId))
      return undefined
    }
    return entry
  }

  async list(): Promise<CachedCredential[]> {
    const live: CachedCredential[] = []
    for (const { account, secret } of await this.keychain.list(`cred:${this.deviceId}:`)) {
      const entry = parse(secret)
      if (!entry || this.isExpired(entry)) await this.keychain.delete(account)
      else live.push(entry)
    }
    return live
  }

  async delete(sessionId: string): Promise<boolean> {
    return this.keychain.delete(this.#account(sessionId))
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
