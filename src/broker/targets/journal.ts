// The journal of target accounts: one row per session whose asset names a target, written before
// each call to the target, so a broker that dies between the call and its record leaves a row
// that says what to repair. States: intent (about to be made), made, removing (the session ended;
// the account must go), removed. Never a password.
import { int, type Row } from '../store/records.js'
import type { Sql } from '../store/sql.js'

export type AccountState = 'intent' | 'made' | 'removing' | 'removed'

export interface TargetAccount {
  sessionId: string
  asset: string
  /** The target's name (target.ts targetName). */
  target: string
  /** The account's name in the target. */
  account: string
  state: AccountState
  /** ms since the epoch. */
  updatedAt: number
  attempts: number
  nextAttemptAt: number
  lastError?: string
}

const toAccount = (row: Row): TargetAccount => ({
  sessionId: row.session_id as string,
  asset: row.asset as string,
  target: row.target as string,
  account: row.account as string,
  state: row.state as AccountState,
  updatedAt: int(row.updated_at),
  attempts: int(row.attempts),
  nextAttemptAt: int(row.next_attempt_at),
  lastError: (row.last_error as string | null) ?? undefined,
})

export class TargetJournal {
  constructor(private readonly store: Sql) {}

  /** Writes the intent to make the session's account; false if the session has a row already. */
  async intend(account: Pick<TargetAccount, 'sessionId' | 'asset' | 'target' | 'account'>, at: number): Promise<boolean> {
    const changed = await this.store.execute(
      "INSERT INTO target_accounts (session_id, asset, target, account, state, updated_at) VALUES (?,?,?,?,'intent',?) ON CONFLICT (session_id) DO NOTHING",
      [account.sessionId, account.asset, account.target, account.account, at],
    )
    return changed > 0
  }

  /** intent → made; false if the row left intent meanwhile (the session ended while the account was made). */
  async made(sessionId: string, at: number): Promise<boolean> {
    return (await this.store.execute("UPDATE target_accounts SET state = 'made', updated_at = ? WHERE session_id = ? AND state = 'intent'", [at, sessionId])) > 0
  }

  /** The account must go (its session ended, or it was never finished): due at once. */
  async toRemove(sessionId: string, at: number): Promise<boolean> {
    return (await this.store.execute("UPDATE target_accounts SET state = 'removing', updated_at = ?, next_attempt_at = 0 WHERE session_id = ? AND state IN ('intent','made')", [at, sessionId])) > 0
  }

  async removed(sessionId: string, at: number): Promise<void> {
    await this.store.execute("UPDATE target_accounts SET state = 'removed', updated_at = ?, last_error = NULL WHERE session_id = ? AND state = 'removing'", [at, sessionId])
  }

  /** A failed removal: counted, its error kept (no secret in it), tried again at nextAttemptAt. */
  async removalFailed(sessionId: string, error: string, nextAttemptAt: number, at: number): Promise<void> {
    await this.store.execute("UPDATE target_accounts SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE session_id = ? AND state = 'removing'", [error, nextAttemptAt, at, sessionId])
  }

  async get(sessionId: string): Promise<TargetAccount | undefined> {
    const row = (await this.store.query('SELECT * FROM target_accounts WHERE session_id = ?', [sessionId]))[0]
    return row && toAccount(row)
  }

  /** Removals due now. */
  async dueRemovals(now: number, limit = 100): Promise<TargetAccount[]> {
    return (await this.store.query("SELECT * FROM target_accounts WHERE state = 'removing' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?", [now, limit])).map(toAccount)
  }

  /** Intents older than `before`: accounts whose making was interrupted (a broker died mid-call). */
  async staleIntents(before: number): Promise<TargetAccount[]> {
    return (await this.store.query("SELECT * FROM target_accounts WHERE state = 'intent' AND updated_at < ?", [before])).map(toAccount)
  }

  /** The accounts that may exist and belong to a session (intent or made), per target. */
  async live(): Promise<TargetAccount[]> {
    return (await this.store.query("SELECT * FROM target_accounts WHERE state IN ('intent','made','removing')")).map(toAccount)
  }
}
