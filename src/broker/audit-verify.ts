// Verifies a broker data folder's audit log directly, without a running broker: the chain, the
// highest sequence number written, the newest checkpoint in the folder and any checkpoints the
// caller holds (anchors).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteStore } from './store/sqlite-store.js'
import { UsageError } from '../errors.js'
import type { AuditVerifyResult } from '../wire/api.js'
import { checkpointHead, publicKeyOf, verifyAnchored } from './audit-anchor.js'
import { readSigningKey } from './signing-key.js'

/** The kid of the data folder's signing key: which checkpoints the caller keeps for it. */
export async function dataFolderKid(dataDir: string): Promise<string | undefined> {
  return (await readSigningKey(dataDir))?.kid
}

export async function verifyAudit(dataDir: string, anchors: string[] = []): Promise<AuditVerifyResult> {
  const file = join(dataDir, 'broker.db')
  if (!existsSync(file)) throw new UsageError(`No broker data in ${dataDir}.`)
  // Opened as the broker opens it first: a store without an audit table yet has an empty log.
  new SqliteStore(dataDir).close()
  const key = await readSigningKey(dataDir)
  const result = await verifyAnchored(file, { publicKey: key && publicKeyOf(key), kid: key?.kid, anchors })
  if (!result.ok || !key || !result.head) return result
  // On demand: a checkpoint of the head just verified (the operator holds the key), to keep.
  const store = new SqliteStore(dataDir)
  try {
    return { ...result, checkpoint: checkpointHead(store, key, `data:${dataDir}`, Date.now(), result.head)?.jws }
  } finally {
    store.close()
  }
}
