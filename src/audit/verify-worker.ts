// A worker thread of verifyAuditLog: checks one range of the audit log and posts what it found.
import { parentPort, workerData } from 'node:worker_threads'
import { checkRange, openLog } from './verify-log.js'

const { file, after, upTo } = workerData as { file: string; after: number; upTo: number }
const db = openLog(file)
try {
  parentPort!.postMessage(checkRange(db, after, upTo))
} finally {
  db.close()
}
