// Verifies a broker data folder's audit log directly, without a running broker.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Store } from '../broker/store.js'
import { UsageError } from '../errors.js'
import type { AuditVerifyResult } from '../wire/api.js'
import { verifyChain } from './chain.js'

export function verifyAudit(dataDir: string): AuditVerifyResult {
  if (!existsSync(join(dataDir, 'broker.db'))) throw new UsageError(`No broker data in ${dataDir}.`)
  const store = new Store(dataDir)
  try {
    return verifyChain(store.auditEvents())
  } finally {
    store.close()
  }
}
