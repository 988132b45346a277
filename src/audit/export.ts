// The audit log as a file for a SIEM: JSON lines or CSV, with the broker's public key and its
// signed checkpoints in the same file, so a copy can be verified on its own (verifyExport):
// the chain links, every record's hash, and every checkpoint's signature and fit.
import { createPublicKey, type KeyObject } from 'node:crypto'
import type { AuditEvent, AuditVerifyResult } from '../wire/api.js'
import { verifyChain } from './chain.js'
import { checkpointMismatch, readCheckpoint, type Checkpoint } from './checkpoint.js'

export type ExportFormat = 'jsonl' | 'csv'

export interface ExportBroker {
  issuer: string
  /** The broker's public signing key (JWK, with kid). */
  jwk: { kid?: string; kty?: string; crv?: string; x?: string }
}

export interface ExportCheckpoint {
  seq: number
  hash: string
  at: string
  jws: string
}

const CSV_COLUMNS = ['record', 'seq', 'at', 'type', 'severity', 'actor', 'session_id', 'request_id', 'data', 'prev_hash', 'hash', 'checkpoint'] as const

/** The export, line by line (each ends with a newline): the broker, every event in order, then the checkpoints. */
export function* exportLines(format: ExportFormat, broker: ExportBroker, events: Iterable<AuditEvent>, checkpoints: Iterable<ExportCheckpoint>): Generator<string> {
  yield* exportHead(format, broker)
  for (const event of events) yield eventLine(format, event)
  for (const checkpoint of checkpoints) yield checkpointLine(format, checkpoint)
}

/** The lines before the events: the CSV header, and the broker with its public key. */
export function* exportHead(format: ExportFormat, broker: ExportBroker): Generator<string> {
  if (format === 'jsonl') {
    yield `${JSON.stringify({ record: 'broker', issuer: broker.issuer, jwk: broker.jwk })}\n`
    return
  }
  yield `${CSV_COLUMNS.join(',')}\n`
  yield csvRow({ record: 'broker', actor: broker.issuer, data: JSON.stringify(broker.jwk) })
}

export function eventLine(format: ExportFormat, e: AuditEvent): string {
  if (format === 'jsonl') return `${JSON.stringify({ record: 'event', ...e })}\n`
  return csvRow({ record: 'event', seq: e.seq, at: e.at, type: e.type, severity: e.severity, actor: e.actor, session_id: e.sessionId, request_id: e.requestId, data: JSON.stringify(e.data), prev_hash: e.prevHash, hash: e.hash })
}

export function checkpointLine(format: ExportFormat, c: ExportCheckpoint): string {
  if (format === 'jsonl') return `${JSON.stringify({ record: 'checkpoint', ...c })}\n`
  return csvRow({ record: 'checkpoint', seq: c.seq, at: c.at, hash: c.hash, checkpoint: c.jws })
}

function csvRow(fields: Partial<Record<(typeof CSV_COLUMNS)[number], string | number | undefined>>): string {
  return `${CSV_COLUMNS.map((column) => csvField(fields[column])).join(',')}\n`
}

function csvField(value: string | number | undefined): string {
  if (value === undefined) return ''
  const text = String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/**
 * What a file is checked against from outside it. The file's own key line and checkpoints prove
 * nothing alone: whoever cut or rewrote the file could recompute the chain and sign checkpoints
 * with a key of their own, and name that key.
 */
export interface OutsideAnchors {
  /** The broker's public keys as known from elsewhere (--key, --jwks): the file must name one of them. */
  keys?: PinnedKey[]
  /** Checkpoints held elsewhere (--checkpoint), compact JWS: the file must still reach and fit each. */
  checkpoints?: string[]
}

export interface PinnedKey {
  kid: string
  publicKey: KeyObject
  /** The key's public bytes (JWK x), to compare with the key a file names. */
  x: string
}

/**
 * Verifies a JSON-lines export on its own: the chain, then every checkpoint in it and every one
 * held outside it, all against the broker key (the pinned one when given, else the one the file
 * names). The answer says what outside the file anchored it (`anchoredBy`, empty when nothing).
 */
export function verifyExport(text: string, outside: OutsideAnchors = {}): AuditVerifyResult {
  const anchoredBy: ('checkpoint' | 'key')[] = [...(outside.checkpoints?.length ? ['checkpoint' as const] : []), ...(outside.keys ? ['key' as const] : [])]
  const parsed = parseExport(text)
  if ('problem' in parsed) return { ok: false, events: 0, anchoredBy, firstBad: { seq: 0, problem: parsed.problem } }
  const { events, checkpoints, broker } = parsed
  const chain = verifyChain(events)
  if (!chain.ok) return { ...chain, anchoredBy }
  const last = events[events.length - 1]
  const lastSeq = last?.seq ?? 0
  const head = last && { seq: last.seq, hash: last.hash }
  const broken = (firstBad: { seq: number; problem: string }): AuditVerifyResult => ({ ok: false, events: chain.events, head, anchoredBy, firstBad })
  const signer = signerOf(broker, outside.keys)
  if ('problem' in signer) {
    if (outside.keys || checkpoints.length > 0 || outside.checkpoints?.length) return broken({ seq: 0, problem: signer.problem })
    return { ...chain, head, anchors: 0, anchoredBy }
  }
  const bySeq = new Map(events.map((e) => [e.seq, e.hash]))
  let newest: Checkpoint | undefined
  const held = (outside.checkpoints ?? []).map((jws) => ({ jws, where: 'the checkpoint held outside the file' }))
  for (const { jws, where } of [...held, ...checkpoints.map((c) => ({ jws: c.jws, where: 'a checkpoint in the file' }))]) {
    const checkpoint = readCheckpoint(jws, signer.publicKey, signer.kid)
    if ('error' in checkpoint) return broken({ seq: 0, problem: `${where} does not check: ${checkpoint.error}` })
    const mismatch = checkpointMismatch(checkpoint, lastSeq, (seq) => bySeq.get(seq))
    if (mismatch) return broken(mismatch)
    if (!newest || checkpoint.seq > newest.seq) newest = checkpoint
  }
  // A pinned key anchors the file only through a checkpoint it signed.
  if (outside.keys && !newest) return broken({ seq: 0, problem: `no checkpoint signed by the pinned key (${signer.kid}) is in the file, so nothing shows this broker wrote these records` })
  return { ...chain, head, anchors: held.length + checkpoints.length, anchoredAt: newest && { seq: newest.seq, at: newest.at }, anchoredBy }
}

/** The key the checkpoints must be signed with: a pinned key the file names, or (nothing pinned) the file's own. */
export function signerOf(broker: ExportBroker | undefined, pinned: PinnedKey[] | undefined): { kid: string; publicKey: KeyObject } | { problem: string } {
  const jwk = broker?.jwk
  const named = jwk?.x && jwk.kid ? `broker key ${String(jwk.kid).slice(0, 64)}` : 'no broker key'
  if (pinned) {
    const match = pinned.find((key) => key.x === jwk?.x)
    if (!match) return { problem: `the export names ${named}, not the pinned key ${pinned.map((key) => key.kid).join(' or ')}: it was written or signed again with another key` }
    return match
  }
  if (!jwk?.x || !jwk.kid) return { problem: 'the export has checkpoints but no broker key to check them with' }
  try {
    return { kid: jwk.kid, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }) }
  } catch {
    return { problem: 'the export\'s broker key is not an Ed25519 public key' }
  }
}

function parseExport(text: string): { events: AuditEvent[]; checkpoints: ExportCheckpoint[]; broker?: ExportBroker } | { problem: string } {
  const events: AuditEvent[] = []
  const checkpoints: ExportCheckpoint[] = []
  let broker: ExportBroker | undefined
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      return { problem: `line ${index + 1} is not a JSON record: the file was damaged, or it is not a JSON-lines audit export` }
    }
    if (parsed === null || typeof parsed !== 'object') return { problem: `line ${index + 1} is not a record of an audit export` }
    const { record, ...rest } = parsed as { record?: unknown } & Record<string, unknown>
    if (record === 'broker') broker = rest as unknown as ExportBroker
    else if (record === 'event') events.push(rest as unknown as AuditEvent)
    else if (record === 'checkpoint') checkpoints.push(rest as unknown as ExportCheckpoint)
    else return { problem: `line ${index + 1} is not a record of an audit export` }
  }
  return { events, checkpoints, broker }
}
