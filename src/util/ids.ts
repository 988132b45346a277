import { randomFillSync } from 'node:crypto'

// Random bytes are drawn a few kilobytes at a time: one call per id costs more than the id.
// Not from Node's shared small-buffer pool (allocUnsafe): random bytes kept in a buffer of their own.
const pool = Buffer.alloc(6 * 512)
let poolOffset = pool.length

/**
 * A URL-safe identifier with a readable prefix (req_, ses_, dev_ ...): 6 bytes of the time in
 * ms, then 6 random bytes. Ids made at about the same time sit side by side in the store's
 * indexes, so a grant touches a few index pages instead of one random page per id index.
 * Ids are names, not secrets: every call that uses one is authorized on its own.
 */
export function newId(prefix: string): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const bytes = Buffer.allocUnsafe(12)
  bytes.writeUIntBE(Date.now(), 0, 6)
  pool.copy(bytes, 6, poolOffset, poolOffset + 6)
  poolOffset += 6
  return `${prefix}_${bytes.toString('base64url')}`
}

export function nowIso(ms = Date.now()): string {
  return new Date(ms).toISOString()
}
