// `jit audit export --data`: the data folder's audit log, with its checkpoints and the broker's
// public key, written as JSON lines or CSV (src/audit/export.ts) by the operator on the broker host.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { exportLines, type ExportFormat } from '../audit/export.js'
import { UsageError } from '../errors.js'
import { listCheckpoints } from './audit-anchor.js'
import { readSigningKey } from './signing-key.js'
import { SqliteStore } from './store/sqlite-store.js'

export async function exportDataFolder(dataDir: string, format: ExportFormat, write: (chunk: string) => void): Promise<{ events: number; checkpoints: number }> {
  if (!existsSync(join(dataDir, 'broker.db'))) throw new UsageError(`No broker data in ${dataDir}.`)
  const key = await readSigningKey(dataDir)
  const store = new SqliteStore(dataDir)
  try {
    const checkpoints = listCheckpoints(store)
    let events = 0
    const counted = (function* () {
      for (const event of store.auditEvents()) {
        events++
        yield event
      }
    })()
    for (const line of exportLines(format, { issuer: `data:${dataDir}`, jwk: key?.publicJwk ?? {} }, counted, checkpoints)) write(line)
    return { events, checkpoints: checkpoints.length }
  } finally {
    store.close()
  }
}
