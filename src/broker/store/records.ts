// The broker's records, and its tables' rows read as records, the same for both stores. Integers
// are read through Number(): SQLite hands back numbers, and the PostgreSQL connection is set to
// read BIGINT as numbers too (connection.ts); every value jit stores fits a double.
import { hashEventWithData } from '../../audit/chain.js'
import { canonicalJson } from '../../util/canonical-json.js'
import { nowIso } from '../../util/ids.js'
import type { AuditEvent, RequestKind, SessionInfo, SessionState } from '../../wire/api.js'

export interface UserRecord {
  name: string
  roles: string[]
  org?: string
  disabled: boolean
}

export interface DeviceRecord {
  id: string
  user: string
  name: string
  publicJwk: { kty: 'OKP'; crv: 'Ed25519'; x: string }
  jkt: string
  createdAt: string
  revokedAt?: string
}

export interface AssetRecord {
  path: string
  attributes: Record<string, unknown>
}

export interface SessionRecord extends SessionInfo {
  jti: string
  issuedAtEpoch: number
  expiresAtEpoch: number
  lastVerifiedAt?: string
  /** When the wrapping CLI last sent a heartbeat (epoch ms); unset when nobody is watching the session. */
  heartbeatAtMs?: number
}

/** A session as the API shows it: without the credential's id, its raw epochs or the broker's bookkeeping. */
export function publicSession(session: SessionRecord): SessionInfo {
  const { jti: _jti, issuedAtEpoch: _i, expiresAtEpoch: _e, lastVerifiedAt: _l, heartbeatAtMs: _h, ...info } = session
  return info
}

export type NewAuditEvent = Pick<AuditEvent, 'type' | 'actor'> & Partial<Pick<AuditEvent, 'severity' | 'sessionId' | 'requestId' | 'data'>>

/**
 * Makes the chain's head row (audit_high_water) if there is none: a store opening a fresh
 * database, or one made before the row existed. Not part of the migrations: `jit admin migrate`
 * copies the row into a database it has just migrated.
 */
export const CHAIN_HEAD_ROW = 'INSERT INTO audit_high_water (id, seq) SELECT 1, COALESCE(max(seq), 0) FROM audit WHERE true ON CONFLICT (id) DO NOTHING'

/** The audit table's columns, in the order of chainedRecord's row. */
export const AUDIT_COLUMNS = 'seq, at, type, severity, actor, session_id, request_id, data, prev_hash, hash'

/**
 * The next record of the chain, number seq, linked to prevHash; and its row for the audit table
 * (AUDIT_COLUMNS), whose data is stored as the very canonical JSON the hash covers, so verifying
 * needs no parsing. Both stores append through it.
 */
export function chainedRecord(event: NewAuditEvent, at: string, seq: number, prevHash: string): { record: AuditEvent; row: (string | number | null)[] } {
  const body = {
    seq,
    at,
    type: event.type,
    severity: event.severity ?? 'info',
    actor: event.actor,
    sessionId: event.sessionId,
    requestId: event.requestId,
    data: event.data ?? {},
  }
  const dataJson = canonicalJson(body.data)
  const hash = hashEventWithData(prevHash, body, dataJson)
  return {
    record: { ...body, prevHash, hash },
    row: [seq, at, body.type, body.severity, body.actor, body.sessionId ?? null, body.requestId ?? null, dataJson, prevHash, hash],
  }
}

export type Row = Record<string, unknown>

export function int(value: unknown): number {
  return Number(value)
}

/** A comparison or 0/1 flag read back: SQLite answers 1/0, PostgreSQL true/false (or a 0/1 BIGINT). */
export function flag(value: unknown): boolean {
  return value === true || value === 1 || value === '1'
}

export function optionalInt(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value)
}

export function toSession(row: Row, nowEpoch: number): SessionRecord {
  const expiresAtEpoch = int(row.expires_at)
  const issuedAtEpoch = int(row.issued_at)
  let state = row.state as SessionState
  // Expiry is a fact of time, not of a sweeper having run.
  if (state === 'active' && expiresAtEpoch <= nowEpoch) state = 'expired'
  return {
    id: row.id as string,
    requestId: row.request_id as string,
    user: row.user as string,
    deviceId: row.device_id as string,
    asset: row.asset as string,
    ticket: row.ticket as string,
    scope: row.scope as string,
    kind: row.kind as RequestKind,
    jti: row.jti as string,
    issuedAtEpoch,
    expiresAtEpoch,
    issuedAt: nowIso(issuedAtEpoch * 1000),
    expiresAt: nowIso(expiresAtEpoch * 1000),
    state,
    cacheAllowed: int(row.cache_allowed) === 1,
    endedAt: (row.ended_at as string) ?? (state === 'expired' ? nowIso(expiresAtEpoch * 1000) : undefined),
    endedBy: (row.ended_by as string) ?? undefined,
    endReason: (row.end_reason as string) ?? (state === 'expired' ? 'expired' : undefined),
    lastVerifiedAt: (row.last_verified_at as string) ?? undefined,
    heartbeatAtMs: optionalInt(row.heartbeat_at),
  }
}

export function toAuditEvent(row: Row): AuditEvent {
  return {
    seq: int(row.seq),
    at: row.at as string,
    type: row.type as string,
    severity: row.severity as 'info' | 'high',
    actor: row.actor as string,
    sessionId: (row.session_id as string) ?? undefined,
    requestId: (row.request_id as string) ?? undefined,
    data: JSON.parse(row.data as string),
    prevHash: row.prev_hash as string,
    hash: row.hash as string,
  }
}
