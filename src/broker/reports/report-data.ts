// The reports on the broker host, from its data folder (with --database, from that PostgreSQL
// database; the data folder still holds the keys), like `jit audit export --data`.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../../errors.js'
import { loadPolicyFile } from '../../policy/load.js'
import { readSigningKey } from '../signing-key.js'
import { openStore, type StoreChoice } from '../store/open.js'
import type { Store } from '../store/store.js'
import type { IdentityReport } from '../../wire/reports.js'
import { identityReport } from './identities.js'
import { sessionEvidence, type EvidenceSubject } from './session-evidence.js'

async function onStore<T>(choice: StoreChoice, fn: (store: Store) => Promise<T>): Promise<T> {
  if (choice.database === undefined && !existsSync(join(choice.dataDir, 'broker.db'))) throw new UsageError(`No broker data in ${choice.dataDir}.`)
  const store = await openStore(choice)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** The inventory; what each person can reach only when the broker's policy file is named. */
export function identitiesFromData(choice: StoreChoice, options: { unusedDays: number; keyDays: number; policyFile?: string }): Promise<IdentityReport> {
  const policy = options.policyFile === undefined ? undefined : loadPolicyFile(options.policyFile)
  return onStore(choice, (store) => identityReport(store, { ...options, nowMs: Date.now(), policy, dataDir: choice.dataDir }))
}

/** The evidence file, signed with the data folder's key (the broker's). */
export async function evidenceFromData(choice: StoreChoice, subject: EvidenceSubject): Promise<string> {
  return onStore(choice, async (store) => {
    const key = await readSigningKey(choice.dataDir)
    if (!key) throw new UsageError(`${choice.dataDir} holds no broker signing key; an evidence file must be signed with it.`)
    return (await sessionEvidence(store, key, `data:${choice.dataDir}`, subject, Date.now())).file
  })
}
