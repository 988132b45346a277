// Cached credentials in the OS keychain, one entry per session, each with its expiry. An expired
// entry is deleted the moment anything reads or lists the cache, and is never returned.
import type { Keychain } from '../keychain/keychain.js'
import type { Grant, SessionInfo } from '../wire/api.js'

export interface CachedCredential {
  session: SessionInfo
  credential: string
  /** Local epoch ms after which the entry counts as gone (broker's expiresIn minus a margin). */
  expiresAtMs: number
}

/** Treat a credential as gone a little before the broker does, so it never fails mid-use. */
export const EXPIRY_MARGIN_MS = 5000

export class CredentialCache {
  constructor(readonly keychain: Keychain, readonly deviceId: string, readonly now: () => number = Date.now) {}

  #account(sessionId: string): string {
    return `cred:${this.deviceId}:${sessionId}`
  }

  /** Expiry comes from the broker's expiresIn, not the laptop's idea of the wall-clock time of exp. */
  entryFor(grant: Grant): CachedCredential {
    return { session: grant.session, credential: grant.credential, expiresAtMs: this.now() + grant.expiresIn * 1000 - EXPIRY_MARGIN_MS }
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
    if (!entry || entry.expiresAtMs <= this.now()) {
      await this.keychain.delete(this.#account(sessionId))
      return undefined
    }
    return entry
  }

  async list(): Promise<CachedCredential[]> {
    const live: CachedCredential[] = []
    for (const { account, secret } of await this.keychain.list(`cred:${this.deviceId}:`)) {
      const entry = parse(secret)
      if (!entry || entry.expiresAtMs <= this.now()) await this.keychain.delete(account)
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
