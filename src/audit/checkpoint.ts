// Signed checkpoints of the audit chain's head: "record N has hash H", signed Ed25519 by the
// broker's key. A checkpoint held outside the database (by `jit audit verify` from its last run,
// by a verifier, in a SIEM export) anchors the chain: deleting the newest records, or rewriting
// records and recomputing every later hash with the public recipe, no longer fits it.
import { verify, type KeyObject } from 'node:crypto'
import { signJwt } from '../util/jws.js'

export const CHECKPOINT_TYP = 'jit-audit-checkpoint+jwt'

export interface Checkpoint {
  /** The last record the checkpoint covers, and its hash. */
  seq: number
  hash: string
  /** When it was signed (ISO). */
  at: string
  iss: string
  kid: string
}

export function signCheckpoint(head: { seq: number; hash: string }, at: string, issuer: string, key: KeyObject, kid: string): string {
  return signJwt({ seq: head.seq, hash: head.hash, at, iss: issuer }, key, { typ: CHECKPOINT_TYP, kid })
}

/** The checkpoint in `jws` if `publicKey` signed it; otherwise why not. */
export function readCheckpoint(jws: string, publicKey: KeyObject, kid: string): Checkpoint | { error: string } {
  const parts = typeof jws === 'string' ? jws.trim().split('.') : []
  if (parts.length !== 3) return { error: 'the checkpoint is malformed' }
  try {
    const head = JSON.parse(Buffer.from(parts[0], 'base64url').toString()) as { alg?: string; typ?: string; kid?: string }
    const body = JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as Partial<Checkpoint>
    if (head.alg !== 'EdDSA' || head.typ !== CHECKPOINT_TYP) return { error: 'the checkpoint is malformed' }
    if (head.kid !== kid) return { error: `the checkpoint was signed by another key (${String(head.kid).slice(0, 64)}), not this broker's (${kid})` }
    if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'))) return { error: 'the checkpoint\'s signature does not verify' }
    if (!Number.isInteger(body.seq) || typeof body.hash !== 'string' || typeof body.at !== 'string') return { error: 'the checkpoint is malformed' }
    return { seq: body.seq!, hash: body.hash, at: body.at, iss: String(body.iss ?? ''), kid }
  } catch {
    return { error: 'the checkpoint is malformed' }
  }
}

/** What a checkpoint says of the chain as it is: nothing when it fits, else the first record that does not. */
export function checkpointMismatch(checkpoint: Checkpoint, lastSeq: number, hashAt: (seq: number) => string | undefined): { seq: number; problem: string } | undefined {
  if (checkpoint.seq > lastSeq) {
    return { seq: lastSeq + 1, problem: `the log ends at record ${lastSeq}, but a checkpoint signed at ${checkpoint.at} covers record ${checkpoint.seq}: the newest records were deleted` }
  }
  if (hashAt(checkpoint.seq) !== checkpoint.hash) {
    return { seq: checkpoint.seq, problem: `does not match the checkpoint signed at ${checkpoint.at}: the chain up to here was rewritten` }
  }
  return undefined
}
