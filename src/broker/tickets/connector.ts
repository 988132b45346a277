// What every ticket connector answers: whether a ticket exists and, if so, the facts the checks
// need (open or not, whom it is assigned to, which asset it is for). A system that cannot be
// asked throws TicketSystemUnreachable, whose message says why in plain words (never a secret).
import type { TicketSystemConfig } from '../../policy/types.js'

export interface TicketFacts {
  id: string
  open: boolean
  /** The state as the ticket system words it, for messages. */
  state: string
  /** Every identity of the assignee the system gives (user name, e-mail, account id); empty when unassigned. */
  assignees: string[]
  /** The assigned organisation or group, for vendor work. */
  org?: string
  /** Asset paths the ticket names (the asset, or a line or cell above it). */
  assets: string[]
  title?: string
}

export type Lookup = { found: true; ticket: TicketFacts } | { found: false }

export interface Connector {
  readonly config: TicketSystemConfig
  lookup(id: string): Promise<Lookup>
  /** Several tickets at once (the poll); connectors without a batch call look them up one by one. */
  lookupMany?(ids: string[]): Promise<Map<string, Lookup>>
}

export class TicketSystemUnreachable extends Error {}

export const notFound: Lookup = { found: false }

/** Case-insensitive list membership, for states as systems spell them. */
export const includesIgnoringCase = (list: readonly string[], value: string) => list.some((item) => item.toLowerCase() === value.toLowerCase())
