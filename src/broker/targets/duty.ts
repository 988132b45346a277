// The target-accounts duty, held by one broker of the database at a time (store.holdsDuty): it
// repairs interrupted intents, removes the accounts of ended sessions (retrying a target that is
// away), and now and then reconciles each target against the journal. It runs at once when a
// session end is committed on any broker (the store's signal), and every second as a backstop.
import type { BrokerContext } from '../context.js'
import { endSessionRecorded } from '../sessions.js'
import { REMOVAL_SIGNAL, interruptedIntents, reconcileTargets, removeTargetAccount, runDueRemovals } from './accounts.js'

const DUTY = 'target-accounts'
const BACKSTOP_MS = 1000
const RECONCILE_EVERY_MS = 60_000

export async function startTargetDuty(ctx: BrokerContext, log: (line: string) => void): Promise<{ stop(): Promise<void> }> {
  let running: Promise<void> | undefined
  let again = false
  let lastReconcile = 0
  let stopped = false
  const turn = async () => {
    if (!(await ctx.store.holdsDuty(DUTY))) return
    await repairInterrupted(ctx)
    await runDueRemovals(ctx, log)
    if (Date.now() - lastReconcile >= RECONCILE_EVERY_MS) {
      lastReconcile = Date.now()
      for (const removed of await reconcileTargets(ctx, log)) log(`removed ${removed}: an account jit made that no session accounts for`)
    }
  }
  // One turn at a time; a wake-up during a turn runs one more after it.
  const kick = () => {
    if (stopped) return
    if (running) {
      again = true
      return
    }
    running = turn()
      .catch((error: Error) => log(`error: target accounts: ${error.message}`))
      .finally(() => {
        running = undefined
        if (again) {
          again = false
          kick()
        }
      })
  }
  const unlisten = await ctx.store.onSignal(REMOVAL_SIGNAL, kick)
  const timer = setInterval(kick, BACKSTOP_MS)
  timer.unref()
  kick()
  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      unlisten()
      await running
    },
  }
}

/**
 * An account whose making was interrupted (its broker died after the journal's intent, perhaps
 * after the target made it, before the grant went out): its session ends, as one whose account
 * could not be made, and the account is removed.
 */
async function repairInterrupted(ctx: BrokerContext): Promise<void> {
  for (const row of await interruptedIntents(ctx)) {
    await ctx.store.transaction(async (tx) => {
      const session = await tx.sessions.get(row.sessionId, ctx.now() / 1000)
      const reason = 'its target account was never confirmed made (the broker stopped while making it)'
      if (session?.state === 'active') await endSessionRecorded(ctx, session, { state: 'revoked', by: 'broker', reason, severity: 'high', data: { cause: 'target-failed', reason } })
      await removeTargetAccount(ctx, row.sessionId)
    })
  }
}
