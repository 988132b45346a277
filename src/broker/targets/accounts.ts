// Target accounts over a session's life: made when its grant is handed over, removed at any end
// cause, repaired after a crash, retried while the target is away, reconciled against what the
// target holds. The store's transaction never waits on a target: each call is journaled first
// (journal.ts) in a transaction of its own, made, then recorded, so the journal always says what
// may exist out there.
import { targetName, targetOf, type TargetSpec } from '../../policy/target.js'
import type { TargetLogin } from '../../wire/api.js'
import type { BrokerContext } from '../context.js'
import type { SessionRecord } from '../store/records.js'
import { TargetJournal, type TargetAccount } from './journal.js'
import { accountName, extendAccount, listAccounts, makeAccount, removeAccount } from './postgres-target.js'

/** The store's signal that a removal is due: the duty's holder wakes at once instead of at its next sweep. */
export const REMOVAL_SIGNAL = 'target_removals'
/** An intent older than this was interrupted (its broker died mid-call): longer than any one call to a target can take. */
export const INTENT_TIMEOUT_MS = 20_000
const MAX_BACKOFF_MS = 15_000

const journal = (ctx: BrokerContext) => new TargetJournal(ctx.store)

/** The asset's target, or undefined; a malformed one throws (fail closed). */
async function specFor(ctx: BrokerContext, asset: string): Promise<TargetSpec | undefined> {
  const record = await ctx.store.assets.get(asset)
  return record ? targetOf(record.attributes) : undefined
}

/** Why a session's account could not be made: the session must not open (sessions.ts grantFor ends it). */
export interface TargetRefusal {
  refused: string
  detail: string
}

/**
 * Makes the session's account on its asset's target, once, and answers with how to log in;
 * undefined when the asset has no target or the account was handed over already (the password
 * was never kept); a refusal when it cannot be made.
 */
export async function openTargetAccount(ctx: BrokerContext, session: SessionRecord): Promise<TargetLogin | TargetRefusal | undefined> {
  let spec: TargetSpec | undefined
  try {
    spec = await specFor(ctx, session.asset)
  } catch (error) {
    return { refused: 'its target is misconfigured', detail: (error as Error).message }
  }
  if (!spec) return undefined
  const target = targetName(spec)
  const roles = spec.scopes[session.scope]
  if (!roles) return { refused: `scope ${session.scope} is not mapped to any role at ${target}`, detail: 'scope not mapped' }
  const account = accountName(session.id)
  if (!(await ctx.store.transaction(() => journal(ctx).intend({ sessionId: session.id, asset: session.asset, target, account }, ctx.now())))) return undefined
  let made
  try {
    made = await makeAccount(spec, account, roles, session.expiresAt)
  } catch (error) {
    // Nothing was made (one transaction on the target); ending the session moves the journal's
    // row to removal all the same, which makes sure.
    return { refused: `the account could not be made at ${target}`, detail: describe(error) }
  }
  const recorded = await ctx.store.transaction(async (tx) => {
    if (!(await journal(ctx).made(session.id, ctx.now()))) return false
    await tx.appendAudit({ type: 'target.account.made', actor: 'broker', sessionId: session.id, requestId: session.requestId, data: { target, account, roles, validUntil: session.expiresAt } })
    return true
  })
  if (!recorded) {
    // The session ended while the account was being made: the removal it set off may have run
    // before the account existed, so it is set off again.
    await ctx.store.transaction(async () => {
      await ctx.store.execute("UPDATE target_accounts SET state = 'removing', next_attempt_at = 0 WHERE session_id = ?", [session.id])
      await ctx.store.signal(REMOVAL_SIGNAL)
    })
    return { refused: `the session ended while its account at ${target} was being made`, detail: 'ended meanwhile' }
  }
  return { kind: 'postgres', target, account, env: made.env }
}

/** Called by endSessionRecorded inside its transaction, for every end cause: the account must go. */
export async function onSessionEndedForTargets(ctx: BrokerContext, session: SessionRecord): Promise<void> {
  if (await journal(ctx).toRemove(session.id, ctx.now())) await ctx.store.signal(REMOVAL_SIGNAL)
}

/** A renewal moves the account's expiry with the session's. Failing that, the renewal still stands; the account expires at the old time. */
export async function extendTargetAccount(ctx: BrokerContext, session: SessionRecord): Promise<void> {
  const row = await journal(ctx).get(session.id)
  if (row?.state !== 'made') return
  const spec = await specFor(ctx, session.asset).catch(() => undefined)
  if (!spec) return
  try {
    await extendAccount(spec, row.account, session.expiresAt)
  } catch (error) {
    await ctx.store.audit({ type: 'target.account.extend-failed', severity: 'high', actor: 'broker', sessionId: session.id, data: { target: row.target, account: row.account, error: describe(error) } })
  }
}

/** Every removal due now is tried; a failure is audited once, counted and tried again with backoff. */
export async function runDueRemovals(ctx: BrokerContext, log: (line: string) => void): Promise<void> {
  for (const row of await journal(ctx).dueRemovals(ctx.now())) await tryRemoval(ctx, row, log)
}

/** Intents older than INTENT_TIMEOUT_MS: their broker died between the journal and the target. */
export function interruptedIntents(ctx: BrokerContext): Promise<TargetAccount[]> {
  return journal(ctx).staleIntents(ctx.now() - INTENT_TIMEOUT_MS)
}

/** The account must go whatever its session's state (call inside a transaction). */
export async function removeTargetAccount(ctx: BrokerContext, sessionId: string): Promise<void> {
  if (await journal(ctx).toRemove(sessionId, ctx.now())) await ctx.store.signal(REMOVAL_SIGNAL)
}

async function tryRemoval(ctx: BrokerContext, row: TargetAccount, log: (line: string) => void): Promise<void> {
  let spec: TargetSpec | undefined
  try {
    spec = await specFor(ctx, row.asset)
    if (!spec) throw new Error(`asset ${row.asset} no longer names a target`)
    if (targetName(spec) !== row.target) throw new Error(`asset ${row.asset} now names another target than ${row.target}`)
    await removeAccount(spec, row.account)
  } catch (error) {
    const message = describe(error)
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(row.attempts, 10))
    await ctx.store.transaction(async (tx) => {
      await journal(ctx).removalFailed(row.sessionId, message, ctx.now() + backoff, ctx.now())
      // Audited on the first failure, not on every retry (the journal counts them).
      if (row.attempts === 0) await tx.appendAudit({ type: 'target.account.removal-failed', severity: 'high', actor: 'broker', sessionId: row.sessionId, data: { target: row.target, account: row.account, error: message } })
    })
    log(`warning: ${row.account} not yet removed at ${row.target} (attempt ${row.attempts + 1}): ${message}; trying again in ${backoff / 1000}s`)
    return
  }
  await ctx.store.transaction(async (tx) => {
    await journal(ctx).removed(row.sessionId, ctx.now())
    await tx.appendAudit({ type: 'target.account.removed', actor: 'broker', sessionId: row.sessionId, data: { target: row.target, account: row.account, attempts: row.attempts + 1 } })
  })
}

/**
 * The reconcile duty: on each target the inventory names, the accounts jit made (by their prefix)
 * that no journal row still accounts for are removed. Answers with what it removed.
 */
export async function reconcileTargets(ctx: BrokerContext, log: (line: string) => void): Promise<string[]> {
  const specs = new Map<string, TargetSpec>()
  for (const asset of await ctx.store.assets.list()) {
    try {
      const spec = targetOf(asset.attributes)
      if (spec) specs.set(targetName(spec), spec)
    } catch {
      // A malformed target was refused at grant; nothing of jit's can be there.
    }
  }
  const removed: string[] = []
  for (const [target, spec] of specs) {
    try {
      // The target first, the journal after: an account made meanwhile had its intent written
      // before it existed, so the journal read second accounts for it.
      const accounts = await listAccounts(spec)
      const accounted = new Set((await journal(ctx).live()).map((row) => `${row.target} ${row.account}`))
      for (const account of accounts) {
        if (accounted.has(`${target} ${account}`)) continue
        await removeAccount(spec, account)
        await ctx.store.audit({ type: 'target.account.reconciled', severity: 'high', actor: 'broker', data: { target, account } })
        removed.push(`${target} ${account}`)
      }
    } catch (error) {
      log(`warning: reconcile of ${target}: ${describe(error)}`)
    }
  }
  return removed
}

/** A target's error in words, with nothing secret (the admin password is never in pg's messages). */
function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { code?: string }
  return e.message ? e.message.split('\n')[0].slice(0, 300) : String(error)
}
