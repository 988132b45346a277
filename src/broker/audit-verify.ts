// Verifies a broker's audit log directly, without a running broker, on the broker host: the
// chain, the highest sequence number written, the newest stored checkpoint and any checkpoints
// the caller holds (anchors). The store is the data folder's SQLite file, or the PostgreSQL
// database given with --database; the data folder holds the signing key either way.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../errors.js'
import type { AuditVerifyResult } from '../wire/api.js'
import { checkpointHead, publicKeyOf, verifyAnchored } from './audit-anchor.js'
import { readSigningKey } from './signing-key.js'
import { openStore, type StoreChoice } from './store/open.js'

/** The kid of the data folder's signing key: which checkpoints the caller keeps for it. */
export async function dataFolderKid(dataDir: string): Promise<string | undefined> {
  return (await readSigningKey(dataDir))?.kid
}

export async function verifyAudit(choice: StoreChoice, anchors: string[] = []): Promise<AuditVerifyResult> {
  if (choice.database === undefined && !existsSync(join(choice.dataDir, 'broker.db'))) throw new UsageError(`No broker data in ${choice.dataDir}.`)
  const key = await readSigningKey(choice.dataDir)
  // Opened as the broker opens it: an older SQLite file gets the tables the verification reads.
  const store = await openStore(choice)
  try {
    const result = await verifyAnchored(store, { publicKey: key && publicKeyOf(key), kid: key?.kid, anchors })
    if (!result.ok || !key || !result.head) return result
    // On demand: a checkpoint of the head just verified (the operator holds the key), to keep.
    return { ...result, checkpoint: (await checkpointHead(store, key, `data:${choice.dataDir}`, Date.now(), result.head))?.jws }
  } finally {
    await store.close()
  }
}
