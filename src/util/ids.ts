import { randomBytes } from 'node:crypto'

/** A random, URL-safe identifier with a readable prefix (req_, ses_, dev_ ...). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`
}

export function nowIso(ms = Date.now()): string {
  return new Date(ms).toISOString()
}
