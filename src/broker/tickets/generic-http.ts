// Any ticket system with a JSON endpoint per ticket: a URL template ({id} is the ticket) and dot
// paths to its state, assignee, organisation, asset and title. 404 means no such ticket. Open
// means the state is one of open_states (default: open, new, assigned, in progress, in-progress, active),
// closed one of closed_states (default: closed, cancelled, canceled, done, resolved). A state
// that is missing, not text, or in neither list is an answer jit cannot read: the system counts
// as unreachable (the rule's on_unreachable decides, deny by default), never as an open ticket.
import { printable } from '../../util/printable.js'
import { TicketSystemUnreachable, includesIgnoringCase, notFound, type Connector, type Lookup } from './connector.js'
import { atPath, getJson, stringsOf } from './http-json.js'
import { authorization } from './secrets.js'
import type { TicketSystemConfig } from '../../policy/types.js'

export const DEFAULT_OPEN = ['open', 'new', 'assigned', 'in progress', 'in-progress', 'active']
export const DEFAULT_CLOSED = ['closed', 'cancelled', 'canceled', 'done', 'resolved']

/** How much of a state the system sent a message repeats. */
const SHOWN_STATE_CHARS = 60

export class HttpConnector implements Connector {
  constructor(readonly config: TicketSystemConfig) {}

  async lookup(id: string): Promise<Lookup> {
    const c = this.config
    const url = c.urlTemplate!.replaceAll('{id}', encodeURIComponent(id))
    const answer = await getJson(url, { authorization: c.auth ? authorization(c.auth) : undefined, timeoutMs: c.timeoutSeconds * 1000, accept404: true })
    if (answer.status === 404) return notFound
    return {
      found: true,
      ticket: {
        id,
        ...openOrClosed(atPath(answer.body, c.statePath!), c),
        assignees: c.assigneePath ? stringsOf(atPath(answer.body, c.assigneePath)) : [],
        org: c.orgPath ? stringsOf(atPath(answer.body, c.orgPath))[0] : undefined,
        assets: stringsOf(atPath(answer.body, c.assetPath!)),
        title: c.titlePath ? stringsOf(atPath(answer.body, c.titlePath))[0] : undefined,
      },
    }
  }
}

/** The ticket's state read as open or closed; anything else throws TicketSystemUnreachable saying what was there. */
export function openOrClosed(value: unknown, config: Pick<TicketSystemConfig, 'statePath' | 'openStates' | 'closedStates'>): { open: boolean; state: string } {
  const at = `at ${config.statePath}`
  if (value === undefined || value === null) throw new TicketSystemUnreachable(`its answer has no state ${at}`)
  if (typeof value !== 'string') throw new TicketSystemUnreachable(`its answer's state ${at} is not text (${Array.isArray(value) ? 'a list' : typeof value})`)
  const state = value.trim()
  if (includesIgnoringCase(config.openStates ?? DEFAULT_OPEN, state)) return { open: true, state }
  if (includesIgnoringCase(config.closedStates ?? DEFAULT_CLOSED, state)) return { open: false, state }
  const shown = printable(state.slice(0, SHOWN_STATE_CHARS)) + (state.length > SHOWN_STATE_CHARS ? '…' : '')
  throw new TicketSystemUnreachable(`its answer's state "${shown}" ${at} is in neither open_states nor closed_states`)
}
