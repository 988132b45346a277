// The broker's store as its logic sees it: every operation answers with a Promise, so the same
// logic can run on the embedded SQLite file (sqlite-async-store.ts) or on a PostgreSQL server
// shared by several brokers (whose client is asynchronous).
//
// Transactions: store.transaction(async (tx) => ...) commits everything fn wrote, with its audit
// records, or nothing. A store call made while fn runs (on tx, or on the store itself from a
// function fn awaits) belongs to that transaction. fn must await nothing but the store: no
// network, no timers (a transaction holds the write lock while it waits).
import type { AccessRequest, AuditEvent, RequestState, SessionState } from '../../wire/api.js'
import type { AssetRecord, DeviceRecord, NewAuditEvent, SessionRecord, UserRecord } from './sqlite-store.js'

export interface AuditFilter {
  sessionId?: string
  requestId?: string
  actor?: string
  since?: string
  limit?: number
}

export interface Store {
  /** Runs fn in one transaction (see the module header); transactions of one broker never interleave. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>
  /** Settles once everything written so far is durable; undefined when nothing waits for a commit. */
  whenDurable(): Promise<void> | undefined
  close(): Promise<void>

  // audit
  /** Appends to the hash chain; inside a transaction, so the link to the last record holds. */
  appendAudit(event: NewAuditEvent, at?: string): Promise<AuditEvent>
  /** An audited write in a transaction of its own. */
  audit(event: NewAuditEvent): Promise<AuditEvent>
  auditEvents(filter?: AuditFilter): Promise<AuditEvent[]>

  // users, devices, enrollment, verifiers
  upsertUser(user: UserRecord): Promise<void>
  getUser(name: string): Promise<UserRecord | undefined>
  listUsers(): Promise<UserRecord[]>
  addEnrollmentCode(codeHash: string, user: string, expiresAtEpoch: number): Promise<void>
  consumeEnrollmentCode(codeHash: string, nowEpoch: number): Promise<string | undefined>
  addDevice(device: DeviceRecord): Promise<void>
  getDevice(id: string): Promise<DeviceRecord | undefined>
  deviceJkt(id: string): Promise<string>
  revokeDevice(id: string): Promise<boolean>
  listDevices(user?: string): Promise<DeviceRecord[]>
  revokeUnusedEnrollmentCodes(user: string): Promise<number>
  /** Records an assertion id; false if it was seen before (a replay). */
  rememberAssertion(jti: string, expiresAtEpoch: number): Promise<boolean>
  forgetExpiredAssertions(nowEpoch: number): Promise<void>
  addVerifier(name: string, tokenHash: string): Promise<void>
  listVerifiers(): Promise<{ name: string; createdAt: string }[]>
  replaceVerifierToken(name: string, tokenHash: string): Promise<boolean>
  removeVerifier(name: string): Promise<boolean>
  verifierByTokenHash(tokenHash: string): Promise<string | undefined>

  // assets
  upsertAsset(asset: AssetRecord): Promise<void>
  getAsset(path: string): Promise<AssetRecord | undefined>
  listAssets(): Promise<AssetRecord[]>

  // requests
  saveRequest(request: AccessRequest): Promise<void>
  getRequest(id: string): Promise<AccessRequest | undefined>
  listRequests(filter: { user?: string; state?: RequestState; limit?: number }): Promise<AccessRequest[]>

  // sessions
  insertSession(session: SessionRecord): Promise<void>
  getSession(id: string, nowEpoch?: number): Promise<SessionRecord | undefined>
  listSessions(filter: { user?: string; deviceId?: string; asset?: string; activeOnly?: boolean }, nowEpoch?: number): Promise<SessionRecord[]>
  /** Ends an active session; false if it had already ended. */
  endSession(id: string, state: Exclude<SessionState, 'active'>, by: string, reason: string): Promise<boolean>
  sessionsPastExpiry(nowEpoch: number): Promise<string[]>
  markVerified(id: string): Promise<void>
  recordHeartbeat(id: string, atMs: number): Promise<boolean>
  silentSessions(cutoffMs: number): Promise<string[]>
  extendSession(id: string, expiresAtEpoch: number): Promise<boolean>
  sessionByJti(jti: string, nowEpoch?: number): Promise<SessionRecord | undefined>
}
