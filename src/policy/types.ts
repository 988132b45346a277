// The policy model after loading: plain data, already validated, with durations in seconds and
// clock times in minutes after midnight. Also the facts a decision is made on (who, which asset
// in which state, when, who already holds it) and the decision itself.

import type { ModbusGrant } from '../wire/gateway.js'

export const ASSET_STATES = ['running', 'maintenance', 'stopped', 'offline'] as const
export type AssetState = (typeof ASSET_STATES)[number]

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
export type Weekday = (typeof WEEKDAYS)[number]

export interface Who {
  users?: string[]
  roles?: string[]
  orgs?: string[]
  /** Workloads only (never people): by name, SPIFFE ID pattern (`*` any run) or owner. */
  workloads?: WorkloadSelector
}

export interface WorkloadSelector {
  names?: string[]
  spiffe_ids?: string[]
  owners?: string[]
}

/** A recurring stretch of local wall-clock time, e.g. Saturdays 02:00–06:00 Europe/Berlin. */
export interface MaintenanceWindow {
  days: Weekday[]
  /** Minutes after local midnight; end <= start means the window runs past midnight. */
  start: number
  end: number
  timeZone: string
}

/** What the inventory says about one asset. */
export interface AssetFacts {
  path: string
  owner?: string
  safetyCritical: boolean
  state: AssetState
  timeZone?: string
  windows: MaintenanceWindow[]
  /** Vendor organisations whose contract covers this asset. */
  vendors: string[]
  /** The protocol its gateway checks request by request (the `protocol` attribute). */
  protocol?: 'modbus-tcp'
}

export interface ApprovalRule {
  count: number
  fromRoles: string[]
  /** The asset's owner group (a role name) may approve too. */
  fromOwnerGroup: boolean
}

export interface TicketRule {
  required: boolean
  /** Ticket systems accepted; empty means any known system. */
  systems: string[]
  /** When the ticket's system cannot be reached: refuse (the default) or allow with a note in the audit trail. */
  onUnreachable: 'deny' | 'allow'
}

/** A credential the policy names but never holds: read from the environment or a file when used. */
export type SecretRef = { env: string } | { file: string }

export type ConnectorAuth = { basic: { username: string; password: SecretRef } } | { bearer: SecretRef }

/** How jit reaches one ticket system (tickets.systems in the policy file). */
export interface TicketSystemConfig {
  system: string
  connector: 'builtin' | 'servicenow' | 'jira' | 'http'
  /** How long a lookup answer is reused; 0 means never. */
  cacheTtlSeconds: number
  /** How often the tickets of open sessions are looked up again (external systems). */
  pollIntervalSeconds: number
  /** Per-call timeout of an external system. */
  timeoutSeconds: number
  /** Shared secret of signed ticket events (POST /v1/tickets/events). */
  webhookSecret?: SecretRef
  url?: string
  auth?: ConnectorAuth
  /** ServiceNow: incident, change_request or wm_order. */
  table?: 'incident' | 'change_request' | 'wm_order'
  closedStates?: string[]
  openStates?: string[]
  /** Where the asset path is (ServiceNow: a dot-walked field; Jira: a field id). */
  assetField?: string
  orgField?: string
  /** How a jit user name appears as an assignee in that system, e.g. "{user}@plant.example". */
  userFormat: string
  /** Generic HTTP connector: the URL ({id} is the ticket) and where things are in its JSON answer. */
  urlTemplate?: string
  statePath?: string
  assigneePath?: string
  orgPath?: string
  assetPath?: string
  titlePath?: string
}

export interface TimeOfDay {
  days: Weekday[]
  from: number
  to: number
  /** Unset: the asset's time zone, else the policy's. */
  timeZone?: string
}

export interface Conditions {
  assetState?: AssetState[]
  inMaintenanceWindow?: boolean
  timeOfDay?: TimeOfDay
  /** A workload's declared intent must match one of these patterns. */
  intent?: string[]
  /** The call must come from one of these addresses or CIDR blocks. */
  sourceHost?: string[]
}

export interface AssetAttributeFilter {
  safetyCritical?: boolean
  owners?: string[]
}

/** A rule's `modbus:` as loaded (src/policy/modbus.ts): per scope, the ranges it may write; the scopes that may program. */
export interface ModbusRule {
  writes: Record<string, ModbusGrant['writes']>
  programming: string[]
}

export interface Rule {
  name: string
  description?: string
  who: Who
  assets: string[]
  assetAttributes?: AssetAttributeFilter
  scopes: string[]
  maxTtlSeconds: number
  ticket: TicketRule
  conditions: Conditions
  approval: ApprovalRule | null
  cache: boolean
  /** A session this rule opens holds its scope on the asset alone. */
  exclusive: boolean
  /** What its scopes may send to a Modbus/TCP asset beyond reading (src/policy/modbus.ts). */
  modbus?: ModbusRule
  /** Position in the file, for first-match-wins order. */
  index: number
  line?: number
}

export interface TicketFormat {
  system: string
  pattern: RegExp
}

/** The emergency path; enforced by the break-glass flow, validated here. */
export interface BreakGlassPolicy {
  who: Who
  assets: string[]
  scopes: string[]
  maxTtlSeconds: number
  notify: string[]
  reviewDueSeconds: number
}

/** An OpenID provider people sign in with (identity_providers in the policy file). */
export interface IdentityProvider {
  name: string
  issuer: string
  clientId: string
  /** Absent: a public client, PKCE only. */
  clientSecret?: SecretRef
  scopes: string[]
  /** The claim of the ID token that is the jit user name. */
  userClaim: string
  /** The claim that lists the user's groups. */
  groupsClaim: string
  /** IdP group → jit roles; a user in none of them cannot sign in. */
  groups: Record<string, string[]>
  /** How old the IdP's last answer about a user may be when a session opens or renews. */
  maxAgeSeconds: number
}

export interface Policy {
  ticketFormats: TicketFormat[]
  identityProviders: IdentityProvider[]
  /** Ticket systems with a connector; a system not named here is checked for its format only. */
  ticketSystems: Record<string, TicketSystemConfig>
  rules: Rule[]
  breakGlass?: BreakGlassPolicy
  /** Default time zone for time-of-day conditions when the asset has none. */
  timeZone: string
  /** Where the policy came from, for messages. */
  source: string
  /** sha256 of the file text: which policy made a decision, for the audit log. */
  digest: string
  /** Candidate lookup by asset path; built once at load. */
  index: RuleIndex
}

export interface RuleIndex {
  /** Rules whose asset patterns could match path, in file order. */
  candidates(path: string): readonly Rule[]
}

export interface Subject {
  name: string
  roles: string[]
  org?: string
  /** Set when the subject is a workload (its name is then its SPIFFE ID). */
  workload?: { name: string; spiffeId: string; owner: string }
}

/** Someone already holding a scope on the asset. */
export interface Holder {
  user: string
  scope: string
  sessionId?: string
  /** ISO time the session ends. */
  until: string
}

export interface DecisionInput {
  user: Subject
  asset: string
  scope: string
  ttlSeconds: number
  /** No ticket: rules that require one do not match. */
  ticket?: string
  /** The inventory record; absent means the asset is unknown. */
  facts?: AssetFacts
  /** Time of the request, ms since the epoch; default now. */
  at?: number
  /** Active sessions on the asset, for exclusive scopes; a function is asked only when it matters. */
  holders?: readonly Holder[] | (() => readonly Holder[])
  /** A workload job's declared intent. */
  intent?: string
  /** The address the request came from. */
  sourceHost?: string
}

export interface Decision {
  allow: boolean
  rule?: string
  reasons: string[]
  approvalsNeeded: number
  approverRoles: string[]
  cacheAllowed: boolean
  maxTtlSeconds?: number
  exclusive?: boolean
  /** Set when an exclusive scope is already held: the refusal names who and until when. */
  heldBy?: Holder
  /** What the audit trail must note about an allowed decision (e.g. a ticket system that could not be reached). */
  notes?: string[]
}
