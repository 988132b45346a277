// The audit log as an export (src/audit/export.ts): the broker's key, every event and the signed
// checkpoints, read from one snapshot of what is committed in batches, on either store. The
// broker's /audit/export streams it; `jit audit export --data` (with --database for PostgreSQL)
// writes it on the broker host.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { AUDIT_ROW_COLUMNS } from '../audit/verify-log.js'
import { checkpointLine, eventLine, exportHead, type ExportBroker, type ExportFormat } from '../audit/export.js'
import { UsageError } from '../errors.js'
import { listCheckpoints } from './audit-anchor.js'
import { readSigningKey } from './signing-key.js'
import { openStore, type StoreChoice } from './store/open.js'
import { toAuditEvent } from './store/records.js'
import { fromSnapshot } from './store/snapshot-stream.js'
import type { Store } from './store/store.js'

/** Events per batch read (and per chunk handed out). */
const BATCH = 1000

/** The export in chunks of lines, from one snapshot: the broker, the events in batches, the checkpoints. */
export function auditExport(store: Store, format: ExportFormat, broker: ExportBroker): AsyncGenerator<string> {
  return fromSnapshot<string>(store, async (read, put) => {
    if (!(await put([...exportHead(format, broker)].join('')))) return
    let from = 0
    for (;;) {
      const rows = await read.query(`SELECT ${AUDIT_ROW_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ${BATCH}`, [from])
      if (rows.length === 0) break
      if (!(await put(rows.map((row) => eventLine(format, toAuditEvent(row))).join('')))) return
      from = Number(rows[rows.length - 1].seq)
      if (rows.length < BATCH) break
    }
    const checkpoints = await listCheckpoints(read)
    if (checkpoints.length > 0) await put(checkpoints.map((checkpoint) => checkpointLine(format, checkpoint)).join(''))
  })
}

/** `jit audit export --data DIR [--database URL]`: the export written chunk by chunk. */
export async function exportDataFolder(choice: StoreChoice, format: ExportFormat, write: (chunk: string) => void): Promise<void> {
  if (choice.database === undefined && !existsSync(join(choice.dataDir, 'broker.db'))) throw new UsageError(`No broker data in ${choice.dataDir}.`)
  const key = await readSigningKey(choice.dataDir)
  const store = await openStore(choice)
  try {
    for await (const chunk of auditExport(store, format, { issuer: `data:${choice.dataDir}`, jwk: key?.publicJwk ?? {} })) write(chunk)
  } finally {
    await store.close()
  }
}
