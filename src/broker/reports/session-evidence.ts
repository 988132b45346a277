// `jit report session ID | --ticket T`: the evidence of one session or one work order, gathered
// from the store and written as a file that verifies on its own (src/audit/evidence.ts). Each
// item of the summary names the audit record it comes from (seq), so an auditor can find it in
// the file and see it is covered by the chain; docs/EVIDENCE.md maps the items to IEC 62443-3-3.
import { evidenceFile } from '../../audit/evidence.js'
import { ApiError, notFound } from '../api-error.js'
import { checkpointHead } from '../audit-anchor.js'
import type { SigningKey } from '../signing-key.js'
import type { SessionRecord } from '../store/records.js'
import type { SqlReader, Store } from '../store/store.js'
import type { AuditEvent } from '../../wire/api.js'
import { auditOf, certificatesOf, chainSegment, checkpointFrom, endsOf, reviewOf, sessionsOf, ticketOf, verificationsOf } from './evidence-reads.js'

export interface EvidenceSubject {
  session?: string
  ticket?: string
}

/** The IEC 62443-3-3 requirements the summary answers, and where: docs/EVIDENCE.md says more. */
export const IEC_62443_FIELDS = {
  'SR 1.13 access via untrusted networks': ['sessions[].request', 'sessions[].decision', 'sessions[].approvals', 'sessions[].credential', 'sessions[].uses', 'sessions[].ended'],
  'SR 2.6 remote session termination': ['sessions[].ended.state', 'sessions[].ended.by', 'sessions[].ended.reason', 'sessions[].ended.layers'],
  'SR 2.8 auditable events': ['sessions[].events', 'sessions[].commands', 'sessions[].recordings', 'sessions[].review', 'chain'],
} as const

const ref = (event: AuditEvent) => ({ seq: event.seq, at: event.at, actor: event.actor, type: event.type })

/** The summary of one session from its records and the store's rows. */
async function sessionSummary(read: SqlReader, session: SessionRecord, events: AuditEvent[]): Promise<Record<string, unknown>> {
  const mine = events.filter((e) => e.sessionId === session.id || e.requestId === session.requestId)
  const ofType = (...types: string[]) => mine.filter((e) => types.includes(e.type))
  const created = ofType('request.created')[0]
  const review = await reviewOf(read, session.id)
  return {
    id: session.id,
    user: session.user,
    device: session.deviceId,
    asset: session.asset,
    scope: session.scope,
    kind: session.kind,
    ticket: session.ticket,
    request: created ? { id: session.requestId, ...ref(created), data: created.data } : { id: session.requestId },
    decision: ofType('policy.decision').map((e) => ({ ...ref(e), rule: (e.data as { rule?: unknown })?.rule ?? null, policyVersion: (e.data as { policy?: unknown })?.policy ?? null, allow: (e.data as { allow?: unknown })?.allow, stage: (e.data as { stage?: unknown })?.stage })),
    approvals: ofType('request.approval', 'request.approved', 'request.denied').map((e) => ({ ...ref(e), data: e.data })),
    credential: {
      issuedAt: session.issuedAt,
      expiresAt: session.expiresAt,
      issued: ofType('session.issued').map(ref),
      renewed: ofType('session.renewed').map((e) => ({ ...ref(e), data: e.data })),
      sshCertificates: (await certificatesOf(read, session.id)).map((row) => ({ serial: Number(row.serial), keyId: row.key_id, principals: row.principals, validAfter: Number(row.valid_after), validBefore: Number(row.valid_before), keyFingerprint: row.key_fingerprint, issuedAt: row.issued_at })),
    },
    uses: {
      verifications: await verificationsOf(read, session.id),
      events: mine.filter((e) => e.type === 'session.verified' || e.type.startsWith('gateway.connection') || e.type.startsWith('ssh.certificate')).map((e) => ({ ...ref(e), data: e.data })),
    },
    commands: mine.filter((e) => e.type.includes('command')).map((e) => ({ ...ref(e), data: e.data })),
    recordings: mine.filter((e) => e.type === 'gateway.connection').flatMap((e) => {
      const { recording, asciicast } = e.data as { recording?: unknown; asciicast?: unknown }
      return recording || asciicast ? [{ ...ref(e), recording: recording ?? null, asciicast: asciicast ?? null }] : []
    }),
    ended: {
      state: session.state,
      at: session.endedAt ?? null,
      by: session.endedBy ?? null,
      reason: session.endReason ?? null,
      // The broker's end of the session, and each gateway connection's end (its endCause).
      records: mine.filter((e) => e.type === 'session.revoked' || e.type === 'session.expired' || e.type === 'gateway.connection').map((e) => ({ ...ref(e), data: e.data })),
      layers: await endsOf(read, session.id),
    },
    review: review ? { id: review.id, kind: review.kind, dueAt: Number(review.due_at), filedAt: review.filed_at ?? null, answers: review.answers ? JSON.parse(review.answers as string) : null, signedOffBy: review.signed_off_by ?? null, signedOffAt: review.signed_off_at ?? null, comment: review.sign_off_comment ?? null, events: mine.filter((e) => e.type.startsWith('review.')).map(ref) } : null,
    events: mine.map((e) => e.seq),
  }
}

/**
 * The evidence file of a session or a work order. A checkpoint at or after the subject's last
 * record is used when one is stored; otherwise the chain's head is checked and signed now. The
 * file is read from one snapshot taken after that.
 */
export async function sessionEvidence(store: Store, key: SigningKey, issuer: string, subject: EvidenceSubject, nowMs: number): Promise<{ file: string; sessions: number; records: number }> {
  const gather = (read: SqlReader) => gatherSubject(read, subject, nowMs)
  // The subject may gain records while this runs: a checkpoint must cover the last one read.
  for (let attempt = 0; attempt < 3; attempt++) {
    const { events } = await store.snapshot(gather)
    const last = events[events.length - 1].seq
    const checkpoint = (await checkpointFrom(store, last)) ?? (await checkpointHead(store, key, issuer, nowMs))
    if (!checkpoint || checkpoint.seq < last) break
    const file = await store.snapshot(async (read) => {
      const again = await gather(read)
      if (again.events[again.events.length - 1].seq > checkpoint.seq) return undefined
      const subjectSeqs = new Set(again.events.map((e) => e.seq))
      const segment = await chainSegment(read, again.events[0].seq, checkpoint.seq)
      const file = evidenceFile({
        broker: { issuer, jwk: key.publicJwk },
        summary: { ...again.summary, chain: { from: segment[0].seq, to: checkpoint.seq, checkpointAt: checkpoint.at, records: subjectSeqs.size } },
        segment,
        subject: subjectSeqs,
        checkpoint,
      }, key.privateKey, key.kid)
      return { file, sessions: again.sessions.length, records: subjectSeqs.size }
    })
    if (file) return file
  }
  throw new ApiError(503, 'busy', 'No checkpoint of the audit chain covers the subject\'s records yet; try again.')
}

async function gatherSubject(read: SqlReader, subject: EvidenceSubject, nowMs: number) {
  const sessions = await sessionsOf(read, subject, nowMs / 1000)
  const what = subject.session !== undefined ? `session ${subject.session}` : `work order ${subject.ticket}`
  if (sessions.length === 0) throw notFound(what.replace(/^./, (c) => c.toUpperCase()))
  const events = await auditOf(read, sessions.map((s) => s.id), [...new Set(sessions.map((s) => s.requestId))])
  if (events.length === 0) throw notFound(`An audit record of ${what}`)
  const ticketIds = [...new Set(sessions.map((s) => s.ticket))]
  const tickets = []
  for (const id of ticketIds) {
    const row = await ticketOf(read, id)
    tickets.push(row ? { id, asset: row.asset, assignee: row.assignee ?? null, org: row.org ?? null, title: row.title ?? null, state: row.state, createdAt: row.created_at, updatedAt: row.updated_at, updatedBy: row.updated_by } : { id, register: null })
  }
  const summaries = []
  for (const session of sessions) summaries.push(await sessionSummary(read, session, events))
  const summary = {
    subject: { ...subject },
    tickets,
    sessions: summaries,
    iec62443: IEC_62443_FIELDS,
  }
  return { sessions, events, summary }
}
