// The policy model after loading: plain data, already validated and with durations in seconds.

export interface Who {
  users?: string[]
  roles?: string[]
  orgs?: string[]
}

export interface ApprovalRule {
  count: number
  fromRoles: string[]
}

export interface Rule {
  name: string
  description?: string
  who: Who
  assets: string[]
  scopes: string[]
  maxTtlSeconds: number
  approval: ApprovalRule | null
  cache: boolean
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

export interface Policy {
  ticketFormats: TicketFormat[]
  rules: Rule[]
  breakGlass?: BreakGlassPolicy
  /** Where the policy came from, for messages. */
  source: string
}

export interface Subject {
  name: string
  roles: string[]
  org?: string
}

export interface DecisionInput {
  user: Subject
  asset: string
  scope: string
  ttlSeconds: number
  ticket: string
}

export interface Decision {
  allow: boolean
  rule?: string
  reasons: string[]
  approvalsNeeded: number
  approverRoles: string[]
  cacheAllowed: boolean
  maxTtlSeconds?: number
}
