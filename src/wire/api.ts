// The wire format between the CLI and the broker, defined once: types for both sides. The bodies
// the broker validates are written once each in ./api-bodies.ts (schema and type from one line);
// their types are re-exported here, as types only, so the CLI never loads the schemas.
import type { RequestKind, ReviewAnswers } from './api-bodies.js'

export const API_PREFIX = '/v1'
export const DEVICE_AUTH_SCHEME = 'JIT-Device'
/** How long a device assertion is accepted after it was made. */
export const ASSERTION_MAX_AGE_SECONDS = 60
/** A device assertion's JWS type, and a bound no assertion reaches (a request header is at most 16 KiB). */
export const DEVICE_ASSERTION_SHAPE = { typ: 'jit-device+jwt', maxLength: 16_384 } as const

export type { BreakGlassBody, CommentBody, CreateRequestBody, CredentialDelivery, EnrollBody, IntrospectBody, OidcAuthorizeBody, OidcDevicePollBody, OidcDeviceStartBody, OidcEnrollBody, OptionalReasonBody, ReasonBody, RenewBody, RequestKind, ReviewAnswers, WorkloadEnrollBody } from './api-bodies.js'
export type RequestState = 'pending' | 'approved' | 'denied' | 'cancelled' | 'expired'
export type SessionState = 'active' | 'revoked' | 'expired'

export interface Approval {
  by: string
  at: string
  comment?: string
}

export interface AccessRequest {
  id: string
  user: string
  deviceId: string
  ticket: string
  asset: string
  scope: string
  ttlSeconds: number
  reason: string
  kind: RequestKind
  state: RequestState
  createdAt: string
  decidedAt?: string
  decidedBy?: string
  decisionComment?: string
  rule?: string
  reasons: string[]
  approvalsNeeded: number
  approverRoles: string[]
  approvals: Approval[]
  sessionId?: string
  /** A workload's declared intent, and the address its call came from (the policy may name both). */
  intent?: string
  sourceHost?: string
}

export interface SessionInfo {
  id: string
  requestId: string
  user: string
  deviceId: string
  asset: string
  ticket: string
  scope: string
  kind: RequestKind
  issuedAt: string
  expiresAt: string
  state: SessionState
  cacheAllowed: boolean
  endedAt?: string
  endedBy?: string
  endReason?: string
}

/** `jit sessions --all | --asset P`: the live sessions the caller oversees, and the broker's time. */
export interface LiveSessionList {
  sessions: SessionInfo[]
  now: string
}

/** An open session and its signed credential, handed only to the device that asked for it. */
export interface Grant {
  session: SessionInfo
  credential: string
  /** Seconds of validity left when the broker answered; the CLI trusts this over its own clock. */
  expiresIn: number
  /** The session's own account on the asset's target, in the grant's first delivery only; held in memory, never cached. */
  target?: TargetLogin
}

/** How a wrapped command logs in to the target: the variables its client reads (libpq's: PGHOST, PGUSER, PGPASSWORD, ...). */
export interface TargetLogin {
  kind: 'postgres'
  /** The target's name: kind://host:port/database. */
  target: string
  account: string
  env: Record<string, string>
}

export interface RequestResult {
  request: AccessRequest
  grant?: Grant
}

export interface EnrollResult {
  deviceId: string
  user: string
  roles: string[]
  /** The broker's issuer: every device assertion names it, and the broker refuses one made for another. */
  issuer: string
}

/** A device-code sign-in, as the CLI shows it: where to go and the code to type there. */
export interface OidcDeviceFlow {
  provider: string
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete?: string
  expiresIn: number
  interval: number
}

export interface WhoAmI {
  user: string
  roles: string[]
  org?: string
  deviceId: string
  deviceName: string
}

export interface AuditEvent {
  seq: number
  at: string
  type: string
  severity: 'info' | 'high'
  actor: string
  sessionId?: string
  requestId?: string
  data: Record<string, unknown>
  prevHash: string
  hash: string
}

export interface AuditVerifyResult {
  ok: boolean
  events: number
  firstBad?: { seq: number; problem: string }
  /** The chain's last record as verified. */
  head?: { seq: number; hash: string }
  /** How many signed checkpoints the chain was checked against, and the newest of them. */
  anchors?: number
  anchoredAt?: { seq: number; at: string }
  /** The newest signed checkpoint, for the caller to keep and check the next run against. */
  checkpoint?: string
  /**
   * A file verified on its own (--file): what from outside the file it was checked against, a
   * checkpoint held elsewhere and/or a pinned broker key. Empty: nothing anchors the file; its own
   * key and checkpoints could have been made by whoever wrote it.
   */
  anchoredBy?: ('checkpoint' | 'key')[]
}

export interface IntrospectionResult {
  active: boolean
  /** Present when the verifier sent a proof of possession: whether it proved the holder has the device key `cnf` names. */
  possession?: { verified: boolean; reason?: string }
  [claim: string]: unknown
}

/** The broker's answer to a heartbeat of a wrapped session. */
export interface HeartbeatResult {
  sessionId: string
  state: SessionState
  endReason?: string
  /** Who ended it (a user, or "broker" for the reaper), once it has ended. */
  endedBy?: string
  /** Seconds of validity left, by the broker's clock. */
  expiresIn: number
  /** Silence after which the broker revokes the session. */
  graceSeconds: number
  /** How often the CLI should beat. */
  intervalSeconds: number
}

/** Everything that shows a session began, was used, and ended: for `jit sessions show`. */
export interface SessionProof {
  session: SessionInfo & { lastVerifiedAt?: string }
  /** The session's own audit events (issued, verified, renewed, revoked/expired), oldest first. */
  events: AuditEvent[]
  /** Introspection of the session's credential made by the broker just now, through the verifiers' code path. */
  liveCheck: { active: boolean; checkedAt: string }
  /** The session's accounts on its asset's target, as the broker's journal has them (none: the asset has no target). */
  targets?: TargetAccountInfo[]
  /** The broker's clock when it answered. */
  now: string
}

/** A target account's state: made and live, or being removed (not yet removed while its target is away), or removed. */
export interface TargetAccountInfo {
  target: string
  account: string
  state: 'intent' | 'made' | 'removing' | 'removed'
  attempts: number
  lastError?: string
}

export interface DeregisterResult {
  deviceId: string
  /** Sessions of this device that the deregistration ended. */
  revoked: SessionInfo[]
}

/** application/problem+json, with the fields the CLI needs to pick an exit code and a next step. */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  nextSteps?: string[]
  reasons?: string[]
  [extra: string]: unknown
}

// ---- break-glass and reviews -------------------------------------------------------------

export interface BreakGlassResult {
  request: AccessRequest
  grant: Grant
  review: Review
  /** Set when the asked TTL was cut to the policy's hard cap. */
  cappedFrom?: number
  /** Who was told of the opening, target by target: delivered, queued for delivery, or not at all. */
  notifications?: NotificationOutcome[]
}

/** One notification target's fate: 'delivered' (e.g. in jit reviews), 'queued' (a webhook, retried), or 'undeliverable' (why in detail). */
export interface NotificationOutcome {
  target: string
  status: 'delivered' | 'queued' | 'undeliverable'
  via?: string
  detail?: string
}

export type ReviewState = 'awaiting-end' | 'due' | 'filed' | 'signed-off'

export interface Review {
  id: string
  sessionId: string
  user: string
  asset: string
  kind: RequestKind
  state: ReviewState
  dueAt: string
  overdue: boolean
  answers?: ReviewAnswers
  filedAt?: string
  signedOffBy?: string
  signedOffAt?: string
  signOffComment?: string
}
