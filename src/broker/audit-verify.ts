// Verifies a broker data folder's audit log directly, without a running broker.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Store } from './store/sqlite-store.js'
import { UsageError } from '../errors.js'
import type { AuditVerifyResult } from '../wire/api.js'
import { verifyAuditLog } from '../audit/verify-log.js'

export async function verifyAudit(dataDir: string): Promise<AuditVerifyResult> {
  const file = join(dataDir, 'broker.db')
  if (!existsSync(file)) throw new UsageError(`No broker data in ${dataDir}.`)
  // Opened as the broker opens it first: a store without an audit table yet has an empty log.
  new Store(dataDir).close()
  return verifyAuditLog(file)
}
