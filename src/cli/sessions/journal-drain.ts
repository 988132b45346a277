// Retries the revocations in the journal until the broker confirms them: at the start of every
// jit run (when the journal is not empty) and on `jit revoke --pending`, each with the one revoke
// timeout (src/cli/sessions/revoke.ts). An entry leaves the journal
// only when the broker has answered for it: revoked (or already ended), or no such session there.
import { CliContext } from '../context.js'
import { UsageError } from '../../errors.js'
import type { Keychain } from '../keychain/keychain.js'
import { isUnconfirmed, readJournal, removeFromJournal, withDrainLock, type PendingRevocation } from './revocation-journal.js'
import { askBrokerToRevoke } from './revoke.js'
import { workloadContextOfProfile } from '../workload/workload-context.js'

export interface DrainResult {
  /** Revoked now (or found already ended) by the broker. */
  confirmed: PendingRevocation[]
  /** Still waiting, with why. */
  pending: (PendingRevocation & { problem: string })[]
}

export interface DrainOptions {
  keychain?: Keychain
  /** Wait for another process's drain to finish, then drain (jit revoke --pending); else skip while one runs (start-up). */
  wait?: boolean
}

export async function drainJournal(options: DrainOptions = {}): Promise<DrainResult> {
  return (await withDrainLock(() => drainNow(options), options.wait ?? false)) ?? { confirmed: [], pending: [] }
}

async function drainNow(options: DrainOptions): Promise<DrainResult> {
  const result: DrainResult = { confirmed: [], pending: [] }
  const contexts = new Map<string, CliContext>()
  // One silent broker costs one timeout per run, not one per queued session.
  const silent = new Set<string>()
  try {
    for (const entry of readJournal()) {
      const key = `${entry.profile}\n${entry.broker}`
      if (silent.has(key)) {
        result.pending.push({ ...entry, problem: 'broker unreachable' })
        continue
      }
      let cli = contexts.get(key)
      if (!cli) {
        try {
          // A workload's entry names its folder: its key signs the revocation, as it signed the request.
          cli = workloadContextOfProfile(entry.profile) ?? new CliContext({ profile: entry.profile, broker: entry.broker }, options.keychain)
        } catch (error) {
          result.pending.push({ ...entry, problem: (error as Error).message })
          continue
        }
        contexts.set(key, cli)
      }
      try {
        await askBrokerToRevoke(cli, entry.sessionId, `${entry.reason}; confirmed from the revocation journal`)
        await removeFromJournal(entry.sessionId)
        result.confirmed.push(entry)
      } catch (error) {
        // The broker answered that it has no such session: there is nothing left to revoke.
        if (error instanceof UsageError && /not found/i.test(error.message)) {
          await removeFromJournal(entry.sessionId)
          result.confirmed.push(entry)
          continue
        }
        const unconfirmed = isUnconfirmed(error)
        if (unconfirmed) silent.add(key)
        const problem = unconfirmed ? 'broker unreachable' : (error as Error).message
        result.pending.push({ ...entry, problem })
      }
    }
  } finally {
    await Promise.all([...contexts.values()].map((cli) => cli.close()))
  }
  return result
}
