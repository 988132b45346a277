// The audit log's hash chain: how a record's hash is computed and how a sequence is verified.
// Each record commits to the previous record's hash, so an edited, deleted or reordered record
// breaks the chain at that point.
import { hash } from 'node:crypto'
import { canonicalJson } from '../util/canonical-json.js'
import type { AuditEvent, AuditVerifyResult } from '../wire/api.js'

export const GENESIS_HASH = '0'.repeat(64)

export type AuditBody = Omit<AuditEvent, 'hash' | 'prevHash'>

export function hashEvent(prevHash: string, body: AuditBody): string {
  return hashEventWithData(prevHash, body, body.data === undefined ? undefined : canonicalJson(body.data))
}

/**
 * hashEvent with the record's data already written as canonical JSON (`dataJson`): the store
 * keeps exactly that text, so a verifier can hash the stored bytes without parsing them.
 */
export function hashEventWithData(prevHash: string, body: Omit<AuditBody, 'data'>, dataJson: string | undefined): string {
  return hash('sha256', `${prevHash}\n${eventContent(body, dataJson)}`, 'hex')
}

/**
 * canonicalJson of the record's fields, written out in their sorted order: the same bytes,
 * without sorting the same eight keys again for each of a million records.
 */
function eventContent(body: Omit<AuditBody, 'data'>, dataJson: string | undefined): string {
  let content = ''
  if (body.actor !== undefined) content += `,"actor":${canonicalJson(body.actor)}`
  if (body.at !== undefined) content += `,"at":${canonicalJson(body.at)}`
  if (dataJson !== undefined) content += `,"data":${dataJson}`
  if (body.requestId !== undefined) content += `,"requestId":${canonicalJson(body.requestId)}`
  if (body.seq !== undefined) content += `,"seq":${canonicalJson(body.seq)}`
  if (body.sessionId !== undefined) content += `,"sessionId":${canonicalJson(body.sessionId)}`
  if (body.severity !== undefined) content += `,"severity":${canonicalJson(body.severity)}`
  if (body.type !== undefined) content += `,"type":${canonicalJson(body.type)}`
  return `{${content.slice(1)}}`
}

/** What verification says of the first record that does not fit the chain. */
export const CHAIN_PROBLEMS = {
  seq: (expectedSeq: number) => `expected record ${expectedSeq} here: a record was deleted or moved`,
  link: 'does not link to the record before it: records were deleted or reordered',
  hash: 'content does not match its hash: the record was edited',
} as const

/** Walks events in order and names the first one that does not fit the chain. */
export function verifyChain(events: Iterable<AuditEvent>): AuditVerifyResult {
  let prevHash = GENESIS_HASH
  let expectedSeq = 1
  let count = 0
  for (const event of events) {
    count++
    if (event.seq !== expectedSeq) {
      return { ok: false, events: count, firstBad: { seq: event.seq, problem: CHAIN_PROBLEMS.seq(expectedSeq) } }
    }
    if (event.prevHash !== prevHash) {
      return { ok: false, events: count, firstBad: { seq: event.seq, problem: CHAIN_PROBLEMS.link } }
    }
    if (hashEvent(prevHash, event) !== event.hash) {
      return { ok: false, events: count, firstBad: { seq: event.seq, problem: CHAIN_PROBLEMS.hash } }
    }
    prevHash = event.hash
    expectedSeq++
  }
  return { ok: true, events: count }
}
