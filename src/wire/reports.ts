// The identity inventory (`jit report identities`) as the broker answers it and the CLI renders it.

export interface Holding {
  session: string
  asset: string
  scope: string
  expiresAt: string
}

export type IdentityKind = 'person' | 'device' | 'verifier' | 'gateway' | 'signing-key' | 'ssh-ca-key'
export type IdentityFlag = 'never-used' | 'unused' | 'owner-disabled' | 'old-key' | 'standing'

/** What a rule would grant without approval: assets of the inventory and scopes. */
export interface Reach {
  rule: string
  scopes: string[]
  assets: string[]
  /** Matching assets not listed (the list is cut at MAX_REACH_ASSETS). */
  moreAssets: number
}

export interface Identity {
  kind: IdentityKind
  id: string
  owner: string | null
  state: 'active' | 'disabled' | 'revoked' | 'next' | 'previous'
  created: string | null
  lastUsed: string | null
  /** When its key or token was last made (devices, verifiers, keys). */
  keyCreated: string | null
  reach: Reach[]
  holds: Holding[]
  flags: IdentityFlag[]
}

export interface IdentityReport {
  at: string
  /** The kinds of identity read; one not named here was not looked at. */
  sources: IdentityKind[]
  unusedDays: number
  keyDays: number
  /** False when no policy was at hand (the data folder without --policy): reach is then empty. */
  reachEvaluated: boolean
  identities: Identity[]
}
