// The open tunnels of this gateway, by session, so that the end of a session closes every one of
// its connections at once.
import type { ConnectionEndCause, SessionEndCause } from '../wire/gateway.js'

export interface OpenConnection {
  id: string
  sessionId: string
  close(cause: ConnectionEndCause): void
}

export class ConnectionTable {
  readonly #bySession = new Map<string, Set<OpenConnection>>()

  add(connection: OpenConnection): void {
    let set = this.#bySession.get(connection.sessionId)
    if (!set) this.#bySession.set(connection.sessionId, (set = new Set()))
    set.add(connection)
  }

  remove(connection: OpenConnection): void {
    const set = this.#bySession.get(connection.sessionId)
    set?.delete(connection)
    if (set?.size === 0) this.#bySession.delete(connection.sessionId)
  }

  closeSession(sessionId: string, cause: ConnectionEndCause): number {
    const set = this.#bySession.get(sessionId)
    if (!set) return 0
    for (const connection of [...set]) connection.close(cause)
    return set.size
  }

  closeAll(cause: ConnectionEndCause): number {
    let n = 0
    for (const sessionId of [...this.#bySession.keys()]) n += this.closeSession(sessionId, cause)
    return n
  }

  get size(): number {
    let n = 0
    for (const set of this.#bySession.values()) n += set.size
    return n
  }
}

/** Sessions the stream said have ended, remembered long enough to outlive any introspection in flight. */
export class EndedSessions {
  readonly #ended = new Map<string, SessionEndCause>()
  constructor(readonly limit = 100_000) {}

  add(sessionId: string, cause: SessionEndCause): void {
    this.#ended.set(sessionId, cause)
    if (this.#ended.size > this.limit) this.#ended.delete(this.#ended.keys().next().value!)
  }

  has(sessionId: string): boolean {
    return this.#ended.has(sessionId)
  }

  /** Why the session ended, as the stream said; undefined while it has not. */
  cause(sessionId: string): SessionEndCause | undefined {
    return this.#ended.get(sessionId)
  }
}
