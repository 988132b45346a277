// Everything a broker request handler needs, built once at start.
import { EventEmitter } from 'node:events'
import type { Policy } from '../policy/types.js'
import type { SigningKey } from './signing-key.js'
import type { Notifier } from './notifier.js'
import type { ReviewStore } from './breakglass/review-store.js'
import type { UserRecord } from './store/records.js'
import type { Store } from './store/store.js'
import type { SpiffeAuthority } from './spiffe/authority.js'
import type { WorkloadRecord } from './store/repositories/workloads.js'

export interface BrokerContext {
  store: Store
  /** The broker's data folder: its key files (signing key, SSH CA), on every store. */
  dataDir: string
  signingKey: SigningKey
  issuer: string
  /** The SPIFFE trust domain of the workloads' IDs (spiffe://TRUST-DOMAIN/...), set at start. */
  trustDomain: string
  /** The CA and key that sign X.509- and JWT-SVIDs; loaded (made on first start) by the broker. */
  spiffe?: SpiffeAuthority
  /** Current policy; replaced whole on reload. */
  policy: Policy
  /** Emits `request:<id>` when a request changes state, for long-polling waiters. */
  events: EventEmitter
  now: () => number
  /** Break-glass reviews and the notification outbox. */
  reviews: ReviewStore
  notifier: Notifier
  /** The dead-man's switch of wrapped sessions; see heartbeat.ts. */
  heartbeat?: HeartbeatSettings
}

export interface HeartbeatSettings {
  /** Silence after which the broker revokes a session whose heartbeat is armed. */
  graceSeconds: number
  /**
   * The monotonic clock silence is measured on, in ms (the broker's: process.hrtime). Silence is
   * counted only from when these settings were made (the broker's start) and while the broker
   * itself ran; see heartbeat.ts.
   */
  monotonicMs: () => number
}

/** The authenticated caller of an API call. */
export interface Actor {
  user: UserRecord
  deviceId: string
  /** Set when the caller is a workload (its principal is \`user\`, named by its SPIFFE ID). */
  workload?: WorkloadRecord
  /** The address the call came from. */
  sourceHost?: string
}

export const isVendor = (user: UserRecord) => user.org !== undefined || user.roles.includes('vendor')
export const hasAnyRole = (user: UserRecord, roles: readonly string[]) => roles.some((role) => user.roles.includes(role))
export const OVERSIGHT_ROLES = ['admin', 'security'] as const
