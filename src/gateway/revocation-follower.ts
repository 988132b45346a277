// Follows the broker's revocation stream by long poll, from the sequence number it has reached, so
// a lost connection misses nothing once it is back. Knows how long ago the broker last answered:
// past the stale limit the gateway must not trust its picture of which sessions are live.
import { setTimeout as sleep } from 'node:timers/promises'
import type { RevocationBatch, SessionEnd } from '../wire/gateway.js'
import type { BrokerLink } from './broker-link.js'

export interface FollowerOptions {
  staleAfterMs: number
  /** Follow from this sequence number (the stream's head when the follower read the state it keeps); else from now. */
  since?: number
  /** Retries after a failure wait 250 ms, doubling up to this (default 250 ms: the gateway asks again at once). */
  maxRetryMs?: number
  onEnd(end: SessionEnd): void
  log(line: string): void
}

const RETRY_MS = 250

export class RevocationFollower {
  #seq?: number
  #lastOkAt?: number
  #stopped = false
  readonly #stop = new AbortController()
  #failing = false
  #reportedStale = false

  constructor(readonly link: BrokerLink, readonly options: FollowerOptions) {
    this.#seq = options.since
  }

  /** True once the stream has answered and not longer ago than the stale limit. */
  get fresh(): boolean {
    return this.#lastOkAt !== undefined && Date.now() - this.#lastOkAt <= this.options.staleAfterMs
  }

  get seq(): number | undefined {
    return this.#seq
  }

  /** Says once when the stream turns stale (called by the gateway's watch). */
  checkStale(): boolean {
    const stale = !this.fresh
    if (stale && !this.#reportedStale && this.#lastOkAt !== undefined) {
      this.#reportedStale = true
      this.options.log(`revocation stream lost for over ${this.options.staleAfterMs / 1000}s: refusing new connections until it is back`)
    }
    return stale
  }

  start(): void {
    void this.#loop()
  }

  stop(): void {
    this.#stopped = true
    this.#stop.abort()
  }

  async #loop(): Promise<void> {
    // The long poll is much shorter than the stale limit, so a quiet stream stays fresh.
    const waitSeconds = Math.max(1, Math.min(25, Math.floor(this.options.staleAfterMs / 3000)))
    let retryMs = RETRY_MS
    while (!this.#stopped) {
      try {
        // Back from a failure, the first ask does not wait: the stream is known to be followed again at once.
        const wait = this.#failing ? 0 : waitSeconds
        const path = this.#seq === undefined ? '/gateway/revocations' : `/gateway/revocations?since=${this.#seq}&wait=${wait}`
        const batch = await this.link.get<RevocationBatch>(path, waitSeconds * 1000 + 5000, this.#stop.signal)
        if (this.#stopped) return
        for (const end of batch.ends) {
          this.options.onEnd(end)
          this.#seq = end.seq
        }
        if (batch.ends.length === 0) this.#seq = batch.head
        this.#lastOkAt = Date.now()
        if (this.#reportedStale || this.#failing) this.options.log('revocation stream: following again')
        this.#reportedStale = false
        this.#failing = false
        retryMs = RETRY_MS
      } catch (error) {
        if (this.#stopped) return
        if (!this.#failing) this.options.log(`revocation stream: ${(error as Error).message}; retrying`)
        this.#failing = true
        await sleep(retryMs, undefined, { signal: this.#stop.signal }).catch(() => {})
        retryMs = Math.min(retryMs * 2, this.options.maxRetryMs ?? RETRY_MS)
      }
    }
  }
}
