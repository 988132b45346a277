// Anchoring the audit chain: signed checkpoints of its head (src/audit/checkpoint.ts), made
// periodically by the sweeper and on demand, kept in the database and handed out; and the
// verification that checks the chain against them, against checkpoints held elsewhere (the
// CLI's from its last run, a verifier's, an export's) and against the highest sequence number
// ever written. A checkpoint is only ever signed over records that were checked first.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { checkpointMismatch, readCheckpoint, signCheckpoint, type Checkpoint } from '../audit/checkpoint.js'
import { nowIso } from '../util/ids.js'
import type { AuditVerifyResult } from '../wire/api.js'
import { walkChain, walkSince } from './audit-walk.js'
import type { SigningKey } from './signing-key.js'
import type { Row } from './store/records.js'
import type { SqlReader, Store } from './store/store.js'

/** The sweeper signs a new checkpoint when the chain has grown and the last one is this old. */
export const CHECKPOINT_INTERVAL_SECONDS = 60

/** When the sweeper last failed to sign (records that do not check): it tries again, and says so, once an interval. */
const failedAt = new WeakMap<Store, number>()

export interface StoredCheckpoint {
  seq: number
  hash: string
  at: string
  jws: string
}

const toCheckpoint = (row: Row): StoredCheckpoint => ({ seq: Number(row.seq), hash: row.hash as string, at: row.at as string, jws: row.jws as string })

/** The newest stored checkpoint; `read` is the store or one of its snapshots. */
export async function latestCheckpoint(read: SqlReader): Promise<StoredCheckpoint | undefined> {
  const row = (await read.query('SELECT seq, hash, at, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1'))[0]
  return row && toCheckpoint(row)
}

export async function listCheckpoints(read: SqlReader): Promise<StoredCheckpoint[]> {
  return (await read.query('SELECT seq, hash, at, jws FROM audit_checkpoints ORDER BY seq')).map(toCheckpoint)
}

/** The last seq of the log in `read`'s snapshot (0 when empty). */
export async function lastAuditSeq(read: SqlReader): Promise<number> {
  return Number((await read.query('SELECT max(seq) AS seq FROM audit'))[0]?.seq ?? 0)
}

const notChecked = (after: number) => new Error(`the audit records after ${after} do not check; no checkpoint signed (run jit audit verify)`)

/**
 * Signs a checkpoint of the chain's head (as committed) when it has grown past the last
 * checkpoint. The records since the last checkpoint are checked first (links and hashes), unless
 * `verified` names a head a full verification has just checked: a chain tampered with is never
 * signed. Returns the latest checkpoint; throws when the records since the last one do not check.
 * Brokers signing the same head at once store one of their checkpoints (the first committed).
 */
export async function checkpointHead(store: Store, key: SigningKey, issuer: string, atMs: number, verified?: { seq: number; hash: string }): Promise<StoredCheckpoint | undefined> {
  const { last, head } = await store.snapshot(async (read) => {
    const last = await latestCheckpoint(read)
    const row = (await read.query('SELECT seq, hash FROM audit WHERE seq <= ? ORDER BY seq DESC LIMIT 1', [verified?.seq ?? Number.MAX_SAFE_INTEGER]))[0]
    const head = row && { seq: Number(row.seq), hash: row.hash as string }
    if (!head || (last && head.seq <= last.seq)) return { last }
    if (verified) {
      if (verified.hash !== head.hash) throw new Error(`audit record ${head.seq} changed since it was verified; no checkpoint signed`)
    } else {
      const since = await walkSince(store, read, last?.seq ?? 0, head.seq)
      const linked = last ? since.firstPrevHash === last.hash && since.firstSeq === last.seq + 1 : since.firstSeq === 1
      if (since.bad || !linked || since.rows !== head.seq - (last?.seq ?? 0)) throw notChecked(last?.seq ?? 0)
    }
    return { last, head }
  })
  if (!head) return last
  const at = nowIso(atMs)
  const jws = signCheckpoint(head, at, issuer, key.privateKey, key.kid)
  await store.execute('INSERT INTO audit_checkpoints (seq, hash, at, jws) VALUES (?,?,?,?) ON CONFLICT (seq) DO NOTHING', [head.seq, head.hash, at, jws])
  return { seq: head.seq, hash: head.hash, at, jws }
}

/**
 * The sweeper's periodic checkpoint, when the chain grew and the last one is old enough. The
 * records since the last checkpoint (all of them, the first time) are checked as committed, from
 * a snapshot, so no writer waits for it and the broker keeps answering; the head that check
 * ended on is then signed. A failure is reported through `log`, and tried again an interval later.
 */
export async function checkpointIfDue(store: Store, key: SigningKey, issuer: string, atMs: number, log: (line: string) => void): Promise<void> {
  const interval = CHECKPOINT_INTERVAL_SECONDS * 1000
  if ((failedAt.get(store) ?? -Infinity) > atMs - interval) return
  try {
    const last = await latestCheckpoint(store)
    if (last && Date.parse(last.at) > atMs - interval) return
    await checkpointHead(store, key, issuer, atMs)
    failedAt.delete(store)
  } catch (error) {
    failedAt.set(store, atMs)
    log(`error: audit checkpoint: ${(error as Error).message}`)
  }
}

export interface AnchoredVerifyOptions {
  /** The broker's public key and its kid: checkpoints signed by anything else are refused. */
  publicKey?: KeyObject
  kid?: string
  /** Checkpoints held outside the database (compact JWS). */
  anchors?: string[]
  /** Never walk the chain on this thread (the broker, which must keep answering meanwhile). */
  offMainThread?: boolean
}

/**
 * The chain verified (verify-log.ts, through audit-walk.ts), then anchored: the highest sequence
 * number ever written must still be there, and every checkpoint (the database's newest and each
 * one held elsewhere) must fit the chain as it is. Everything is read from one snapshot of what
 * is committed: no writer waits, and the broker may append meanwhile. The answer names the first
 * record that does not fit.
 */
export async function verifyAnchored(store: Store, options: AnchoredVerifyOptions): Promise<AuditVerifyResult> {
  return store.snapshot(async (read) => {
    const lastSeq = await lastAuditSeq(read)
    const chain = await walkChain(store, read, lastSeq, options)
    if (!chain.ok) return chain
    const hashAt = async (seq: number) => (await read.query('SELECT hash FROM audit WHERE seq = ?', [seq]))[0]?.hash as string | undefined
    // The walk passed, so the records are 1..events: the head is the last of them.
    const head = chain.events > 0 ? { seq: chain.events, hash: (await hashAt(chain.events)) as string } : undefined
    const broken = (firstBad: { seq: number; problem: string }): AuditVerifyResult => ({ ok: false, events: chain.events, firstBad, head })
    const high = Number((await read.query('SELECT seq FROM audit_high_water WHERE id = 1'))[0]?.seq ?? 0)
    if (high > lastSeq) return broken({ seq: lastSeq + 1, problem: `the broker wrote records up to ${high}, the log ends at ${lastSeq}: the newest records were deleted` })
    const stored = (await latestCheckpoint(read))?.jws
    const anchors = [...(options.anchors ?? []), ...(stored ? [stored] : [])]
    let newest: Checkpoint | undefined
    for (const jws of anchors) {
      if (!options.publicKey || !options.kid) return broken({ seq: 0, problem: 'there are checkpoints but no broker signing key to check them with' })
      const checkpoint = readCheckpoint(jws, options.publicKey, options.kid)
      if ('error' in checkpoint) return broken({ seq: 0, problem: `a checkpoint does not check: ${checkpoint.error}` })
      const hash = checkpoint.seq <= lastSeq ? await hashAt(checkpoint.seq) : undefined
      const mismatch = checkpointMismatch(checkpoint, lastSeq, () => hash)
      if (mismatch) return broken(mismatch)
      if (!newest || checkpoint.seq > newest.seq) newest = checkpoint
    }
    return { ...chain, head, anchoredAt: newest && { seq: newest.seq, at: newest.at }, anchors: anchors.length }
  })
}

export const publicKeyOf = (key: SigningKey) => createPublicKey(key.privateKey)
