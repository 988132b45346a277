// Replaces the broker's policy while it runs: on SIGHUP and when the file changes. A new policy
// takes effect only if it loads cleanly; otherwise the old one stays in force and the log says
// exactly why (file:line:col). Nothing here may take the broker down.
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import { loadPolicyFile, PolicyLoadError } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import type { BrokerContext } from './context.js'

export interface PolicyReloader {
  /** Loads the file again; true if a new policy is now in force. */
  reload(trigger: string): boolean
  close(): void
}

const DEBOUNCE_MS = 200

export interface ReloadOptions {
  watch: boolean
  /** A further check of a new policy that loaded cleanly: a problem keeps the old one in force. */
  refuse?: (next: Policy) => string | undefined
  /** Called once a new policy is in force. */
  onReloaded?: () => void
}

export function reloadablePolicy(ctx: BrokerContext, file: string, log: (line: string) => void, options: ReloadOptions): PolicyReloader {
  // Written in turn with the store's other calls: whatever reads the audit trail after the reload sees it.
  const audit = (type: string, data: Record<string, unknown>) => {
    ctx.store.audit({ type, actor: 'broker', data }).catch((error: Error) => log(`error: cannot audit ${type}: ${error.message}`))
  }

  function reload(trigger: string): boolean {
    try {
      const next = loadPolicyFile(file)
      if (next.digest === ctx.policy.digest) {
        if (trigger === 'SIGHUP') log(`policy unchanged (${trigger}): ${file}`)
        return false
      }
      const refused = options.refuse?.(next)
      if (refused) {
        log(`policy reload refused (${trigger}): the previous policy stays in force; ${refused}`)
        audit('policy.reload-refused', { trigger, file, problems: [refused], inForce: ctx.policy.digest })
        return false
      }
      const previous = ctx.policy.digest
      ctx.policy = next
      log(`policy reloaded (${trigger}): ${file}, ${next.rules.length} rules, sha256 ${next.digest.slice(0, 16)}`)
      audit('policy.reloaded', { trigger, file, rules: next.rules.length, digest: next.digest, previous })
      options.onReloaded?.()
      return true
    } catch (error) {
      const problems = error instanceof PolicyLoadError ? error.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`) : [(error as Error).message]
      log(`policy reload refused (${trigger}): the previous policy stays in force; ${file} has ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}`)
      audit('policy.reload-refused', { trigger, file, problems: problems.slice(0, 20), inForce: ctx.policy.digest })
      return false
    }
  }

  let watcher: FSWatcher | undefined
  let timer: NodeJS.Timeout | undefined
  if (options.watch) {
    // Watch the folder, not the file: editors and config tools replace the file by renaming.
    const name = basename(file)
    try {
      watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (changed !== null && changed !== name) return
        clearTimeout(timer)
        timer = setTimeout(() => reload('file change'), DEBOUNCE_MS)
        timer.unref()
      })
      watcher.on('error', (error) => log(`policy watch stopped: ${error.message}; SIGHUP still reloads`))
    } catch (error) {
      log(`cannot watch ${file} (${(error as Error).message}); SIGHUP still reloads`)
    }
  }

  return {
    reload,
    close() {
      clearTimeout(timer)
      watcher?.close()
    },
  }
}
