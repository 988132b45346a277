// An evidence file: what the broker knows of one session or one work order, as JSON lines a third
// party verifies on its own (docs/EVIDENCE.md explains the scheme).
//
// The subject's audit records are scattered through the global hash chain, so the file carries
// the contiguous segment of the chain from the subject's first record to a signed checkpoint at
// or after its last: the subject's records in full, every other record redacted to its sequence
// number, the hash it links to and its own hash. The chain hashes each record whole, so the
// segment still links record to record, every full record's hash is recomputed, and the
// checkpoint (signed by the broker's key) fixes the last hash. The summary at the top, the list of
// records it rests on and the broker's key are signed by the same key. Every line must be exactly
// as written (JSON.stringify's form, base64url without stray bits): a changed byte anywhere either
// breaks a hash, a link or a signature, or makes a line that is not in its written form.
import { createHash } from 'node:crypto'
import { canonicalJson } from '../util/canonical-json.js'
import { decodeJws, signJwt, signatureHolds } from '../util/jws.js'
import type { KeyObject } from 'node:crypto'
import type { AuditEvent, AuditVerifyResult } from '../wire/api.js'
import { CHAIN_PROBLEMS, hashEvent } from './chain.js'
import { readCheckpoint } from './checkpoint.js'
import { signerOf, type ExportBroker, type ExportCheckpoint, type OutsideAnchors } from './export.js'

export const EVIDENCE_TYP = 'jit-evidence+jwt'
export const EVIDENCE_FORMAT = 1

/** A record of the segment that is not the subject's: what links it into the chain, nothing of its content. */
export interface RedactedRecord {
  seq: number
  prevHash: string
  hash: string
}

/** What the signature covers: everything on the evidence line but the signature. */
interface EvidenceHead {
  format: number
  issuer: string
  jwk: ExportBroker['jwk']
  summary: Record<string, unknown>
  /** The sequence numbers of the subject's records, each in the file in full. */
  records: number[]
}

export interface EvidenceInput {
  broker: ExportBroker
  summary: Record<string, unknown>
  /** The chain from the subject's first record to the checkpoint's, in order. */
  segment: AuditEvent[]
  /** Which records of the segment are the subject's (kept in full). */
  subject: Set<number>
  /** A checkpoint of the segment's last record. */
  checkpoint: ExportCheckpoint
}

const digestOf = (head: EvidenceHead) => createHash('sha256').update(canonicalJson(head)).digest('hex')

/** The evidence file, signed with the broker's key. */
export function evidenceFile(input: EvidenceInput, key: KeyObject, kid: string): string {
  const head: EvidenceHead = { format: EVIDENCE_FORMAT, issuer: input.broker.issuer, jwk: input.broker.jwk, summary: input.summary, records: [...input.subject].sort((a, b) => a - b) }
  const signature = signJwt({ digest: digestOf(head), iss: input.broker.issuer }, key, { typ: EVIDENCE_TYP, kid })
  const lines = [JSON.stringify({ record: 'evidence', ...head, signature })]
  for (const event of input.segment) {
    lines.push(JSON.stringify(input.subject.has(event.seq) ? { record: 'event', ...event } : { record: 'redacted', seq: event.seq, prevHash: event.prevHash, hash: event.hash }))
  }
  lines.push(JSON.stringify({ record: 'checkpoint', ...input.checkpoint }))
  return `${lines.join('\n')}\n`
}

/** Whether the text is an evidence file (its first line says so), to tell it from an audit export. */
export function isEvidenceFile(text: string): boolean {
  return text.startsWith('{"record":"evidence"')
}

type Parsed = { head: EvidenceHead & { signature: string }; segment: (AuditEvent | (RedactedRecord & { redacted: true }))[]; checkpoints: ExportCheckpoint[] }

/**
 * Verifies an evidence file on its own: every line in its written form, the signature over the
 * summary, the segment's links and full records' hashes, the subject's records all present in
 * full, and a checkpoint signed by the same key that fixes the segment's last record. Anchors from
 * outside (a pinned key, a checkpoint held elsewhere) are checked as for an export.
 */
export function verifyEvidence(text: string, outside: OutsideAnchors = {}): AuditVerifyResult {
  const anchoredBy: ('checkpoint' | 'key')[] = [...(outside.checkpoints?.length ? ['checkpoint' as const] : []), ...(outside.keys ? ['key' as const] : [])]
  const fail = (seq: number, problem: string, events = 0): AuditVerifyResult => ({ ok: false, events, anchoredBy, firstBad: { seq, problem } })
  const parsed = parseEvidence(text)
  if ('problem' in parsed) return fail(0, parsed.problem)
  const { head, segment, checkpoints } = parsed

  const signer = signerOf({ issuer: head.issuer, jwk: head.jwk }, outside.keys)
  if ('problem' in signer) return fail(0, signer.problem.replace('the export', 'the evidence file'))
  if (!jwsInWrittenForm(head.signature)) return fail(0, 'the evidence signature is not in its written form: the file was changed')
  const decoded = decodeJws(head.signature, { typ: EVIDENCE_TYP, maxLength: 4096 })
  if (!decoded || decoded.header.kid !== signer.kid || !signatureHolds(decoded, signer.publicKey)) return fail(0, 'the evidence signature does not verify with the broker key: the summary or the key was changed')
  const { signature: _signature, ...signed } = head
  if (decoded.claims.digest !== digestOf(signed) || decoded.claims.iss !== head.issuer) return fail(0, 'the evidence signature does not cover this summary: the summary, its record list or the broker was changed')

  // The segment: contiguous, linked, each full record's hash recomputed.
  let count = 0
  let prev: { seq: number; hash: string } | undefined
  const full = new Set<number>()
  for (const record of segment) {
    count++
    if (prev && record.seq !== prev.seq + 1) return fail(record.seq, CHAIN_PROBLEMS.seq(prev.seq + 1), count)
    if (prev && record.prevHash !== prev.hash) return fail(record.seq, CHAIN_PROBLEMS.link, count)
    if (!('redacted' in record)) {
      if (hashEvent(record.prevHash, record) !== record.hash) return fail(record.seq, CHAIN_PROBLEMS.hash, count)
      full.add(record.seq)
    }
    prev = { seq: record.seq, hash: record.hash }
  }
  const first = segment[0]?.seq
  if (head.records.length === 0 || first !== head.records[0]) return fail(first ?? 0, `the segment must start at the subject's first record (${head.records[0] ?? 'none'}): records were cut from the start`, count)
  for (const seq of head.records) if (!full.has(seq)) return fail(seq, 'the subject\'s record is missing from the file or was redacted', count)
  if (full.size !== head.records.length) return fail([...full].find((seq) => !head.records.includes(seq))!, 'a record in full is not one the signed summary names', count)

  // Anchors: the file's checkpoint must fix the segment's last record; outside ones must fall inside the segment and fit.
  const last = prev!
  const hashAt = new Map(segment.map((record) => [record.seq, record.hash]))
  let newest: { seq: number; at: string } | undefined
  const held = (outside.checkpoints ?? []).map((jws) => ({ jws, where: 'the checkpoint held outside the file' }))
  for (const { jws, where, line } of [...held.map((h) => ({ ...h, line: undefined })), ...checkpoints.map((c) => ({ jws: c.jws, where: 'the file\'s checkpoint', line: c }))]) {
    if (line && !jwsInWrittenForm(jws)) return fail(0, `${where} is not in its written form: the file was changed`, count)
    const checkpoint = readCheckpoint(jws, signer.publicKey, signer.kid)
    if ('error' in checkpoint) return fail(0, `${where} does not check: ${checkpoint.error}`, count)
    if (line && (line.seq !== checkpoint.seq || line.hash !== checkpoint.hash || line.at !== checkpoint.at)) return fail(line.seq, `${where} line does not match the checkpoint it carries: the file was changed`, count)
    if (checkpoint.seq < first || checkpoint.seq > last.seq) return fail(checkpoint.seq, `${where} covers record ${checkpoint.seq}, outside this file's records ${first} to ${last.seq}: it cannot be compared`, count)
    if (hashAt.get(checkpoint.seq) !== checkpoint.hash) return fail(checkpoint.seq, `does not match ${where}, signed at ${checkpoint.at}: the chain was rewritten`, count)
    if (!newest || checkpoint.seq > newest.seq) newest = { seq: checkpoint.seq, at: checkpoint.at }
  }
  if (!checkpoints.some((c) => c.seq === last.seq)) return fail(last.seq, 'no checkpoint in the file fixes the segment\'s last record: records were cut from the end', count)
  return { ok: true, events: count, head: last, anchors: held.length + checkpoints.length, anchoredAt: newest, anchoredBy }
}

/** A compact JWS whose three parts decode back to themselves (base64url has spare bits in its last character). */
function jwsInWrittenForm(jws: string): boolean {
  return typeof jws === 'string' && jws.split('.').every((part) => Buffer.from(part, 'base64url').toString('base64url') === part)
}

const EVENT_KEYS = new Set(['seq', 'at', 'type', 'severity', 'actor', 'sessionId', 'requestId', 'data', 'prevHash', 'hash'])

function parseEvidence(text: string): Parsed | { problem: string } {
  if (!text.endsWith('\n')) return { problem: 'the file does not end as written (a newline after the last record)' }
  const lines = text.slice(0, -1).split('\n')
  let head: Parsed['head'] | undefined
  const segment: Parsed['segment'] = []
  const checkpoints: ExportCheckpoint[] = []
  for (const [index, line] of lines.entries()) {
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      return { problem: `line ${index + 1} is not a JSON record: the file was damaged` }
    }
    // Only the form the broker wrote: a byte changed in a way JSON ignores (spaces, escapes) still fails.
    if (JSON.stringify(parsed) !== line || parsed === null || typeof parsed !== 'object') return { problem: `line ${index + 1} is not in its written form: the file was changed` }
    const { record, ...rest } = parsed as { record?: unknown } & Record<string, unknown>
    if (index === 0) {
      if (record !== 'evidence') return { problem: 'the first line is not the evidence summary' }
      if (rest.format !== EVIDENCE_FORMAT) return { problem: `the evidence file's format ${String(rest.format)} is not one this version reads` }
      if (!Array.isArray(rest.records) || !rest.records.every((seq) => Number.isInteger(seq))) return { problem: 'the evidence summary lists no records' }
      const jwk = rest.jwk as ExportBroker['jwk'] | undefined
      if (typeof jwk?.x === 'string' && Buffer.from(jwk.x, 'base64url').toString('base64url') !== jwk.x) return { problem: 'the broker key is not in its written form: the file was changed' }
      head = rest as unknown as Parsed['head']
    } else if (record === 'event' && checkpoints.length === 0 && Object.keys(rest).every((k) => EVENT_KEYS.has(k))) segment.push(rest as unknown as AuditEvent)
    else if (record === 'redacted' && checkpoints.length === 0 && Object.keys(rest).length === 3) segment.push({ ...(rest as unknown as RedactedRecord), redacted: true })
    else if (record === 'checkpoint') checkpoints.push(rest as unknown as ExportCheckpoint)
    else return { problem: `line ${index + 1} is not a record of an evidence file` }
  }
  if (!head) return { problem: 'the file is empty' }
  return { head, segment, checkpoints }
}
