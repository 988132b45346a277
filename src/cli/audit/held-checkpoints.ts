// The newest audit checkpoint `jit audit verify` has seen, per broker signing key, kept in the
// CLI's config folder: the next run checks the chain against it, so a log that lost its newest
// records or was rewritten since (checkpoints in the database included) is found.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { configDir } from '../config/config.js'
import { writePrivateFile } from '../config/private-file.js'

interface Held {
  seq: number
  jws: string
}

const path = () => join(configDir(), 'audit-checkpoints.json')

function readAll(): Record<string, Held> {
  try {
    return JSON.parse(readFileSync(path(), 'utf8')) as Record<string, Held>
  } catch {
    return {}
  }
}

export function heldCheckpoint(kid: string): string | undefined {
  return readAll()[kid]?.jws
}

/** Keeps `jws` (covering record `seq`) unless a newer one is already kept. */
export function keepCheckpoint(kid: string, jws: string): void {
  const seq = seqOf(jws)
  const all = readAll()
  if (seq === undefined || (all[kid] && all[kid].seq >= seq)) return
  all[kid] = { seq, jws }
  writePrivateFile(path(), `${JSON.stringify(all, null, 2)}\n`)
}

function seqOf(jws: string): number | undefined {
  try {
    const seq = JSON.parse(Buffer.from(jws.split('.')[1], 'base64url').toString()).seq
    return Number.isInteger(seq) ? seq : undefined
  } catch {
    return undefined
  }
}
