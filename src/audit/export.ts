// The audit log as a file for a SIEM: JSON lines or CSV, with the broker's public key and its
// signed checkpoints in the same file, so a copy can be verified on its own (verifyExport):
// the chain links, every record's hash, and every checkpoint's signature and fit.
import { createPublicKey } from 'node:crypto'
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
 * Verifies a JSON-lines export on its own: the chain, then each checkpoint against the broker
 * key the file names, or `pinnedKid` when the caller knows which key to expect (a file's own
 * key line could have been replaced along with everything else).
 */
export function verifyExport(text: string, pinnedKid?: string): AuditVerifyResult {
  const events: AuditEvent[] = []
  const checkpoints: ExportCheckpoint[] = []
  let broker: ExportBroker | undefined
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const { record, ...rest } = JSON.parse(line) as { record: string } & Record<string, unknown>
    if (record === 'broker') broker = rest as unknown as ExportBroker
    else if (record === 'event') events.push(rest as unknown as AuditEvent)
    else if (record === 'checkpoint') checkpoints.push(rest as unknown as ExportCheckpoint)
  }
  const chain = verifyChain(events)
  if (!chain.ok) return chain
  const last = events[events.length - 1]
  const head = last && { seq: last.seq, hash: last.hash }
  if (checkpoints.length === 0) return { ...chain, head, anchors: 0 }
  const jwk = broker?.jwk
  if (!jwk?.x || !jwk.kid) return { ok: false, events: chain.events, head, firstBad: { seq: 0, problem: 'the export has checkpoints but no broker key to check them with' } }
  if (pinnedKid && jwk.kid !== pinnedKid) return { ok: false, events: chain.events, head, firstBad: { seq: 0, problem: `the export names broker key ${jwk.kid}, not the expected ${pinnedKid}` } }
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
  const bySeq = new Map(events.map((e) => [e.seq, e.hash]))
  let newest: Checkpoint | undefined
  for (const stored of checkpoints) {
    const checkpoint = readCheckpoint(stored.jws, key, jwk.kid)
    if ('error' in checkpoint) return { ok: false, events: chain.events, head, firstBad: { seq: stored.seq, problem: `a checkpoint does not check: ${checkpoint.error}` } }
    const mismatch = checkpointMismatch(checkpoint, last?.seq ?? 0, (seq) => bySeq.get(seq))
    if (mismatch) return { ok: false, events: chain.events, head, firstBad: mismatch }
    if (!newest || checkpoint.seq > newest.seq) newest = checkpoint
  }
  return { ...chain, head, anchors: checkpoints.length, anchoredAt: newest && { seq: newest.seq, at: newest.at } }
}
