// Signed checkpoints of the audit chain's head: "record N has hash H", signed Ed25519 by the
// broker's key. A checkpoint held outside the database (by `jit audit verify` from its last run,
// by a verifier, in a SIEM export) anchors the chain: deleting the newest records, or rewriting
// records and recomputing every later hash with the public recipe, no longer fits it.
import type { KeyObject } from 'node:crypto'
import { decodeJws, signatureHolds, signJwt } from '../util/jws.js'

export const CHECKPOINT_TYP = 'jit-audit-checkpoint+jwt'
const CHECKPOINT_SHAPE = { typ: CHECKPOINT_TYP, maxLength: 4096 }

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
  const decoded = decodeJws(typeof jws === 'string' ? jws.trim() : jws, CHECKPOINT_SHAPE)
  if (!decoded) return { error: 'the checkpoint is malformed' }
  if (decoded.header.kid !== kid) return { error: `the checkpoint was signed by another key (${String(decoded.header.kid).slice(0, 64)}), not this broker's (${kid})` }
  if (!signatureHolds(decoded, publicKey)) return { error: 'the checkpoint\'s signature does not verify' }
  const body = decoded.claims as Partial<Checkpoint>
  if (!Number.isInteger(body.seq) || typeof body.hash !== 'string' || typeof body.at !== 'string') return { error: 'the checkpoint is malformed' }
  return { seq: body.seq!, hash: body.hash, at: body.at, iss: String(body.iss ?? ''), kid }
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
