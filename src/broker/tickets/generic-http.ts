// Any ticket system with a JSON endpoint per ticket: a URL template ({id} is the ticket) and dot
// paths to its state, assignee, organisation, asset and title. 404 means no such ticket. Open
// means the state is one of open_states, or else not one of closed_states (default: closed,
// cancelled, canceled, done, resolved).
import { includesIgnoringCase, notFound, type Connector, type Lookup } from './connector.js'
import { atPath, getJson, stringsOf } from './http-json.js'
import { authorization } from './secrets.js'
import type { TicketSystemConfig } from '../../policy/types.js'

const DEFAULT_CLOSED = ['closed', 'cancelled', 'canceled', 'done', 'resolved']

export class HttpConnector implements Connector {
  constructor(readonly config: TicketSystemConfig) {}

  async lookup(id: string): Promise<Lookup> {
    const c = this.config
    const url = c.urlTemplate!.replaceAll('{id}', encodeURIComponent(id))
    const answer = await getJson(url, { authorization: c.auth ? authorization(c.auth) : undefined, timeoutMs: c.timeoutSeconds * 1000, accept404: true })
    if (answer.status === 404) return notFound
    const state = stringsOf(atPath(answer.body, c.statePath!))[0] ?? 'unknown'
    const open = c.openStates ? includesIgnoringCase(c.openStates, state) : !includesIgnoringCase(c.closedStates ?? DEFAULT_CLOSED, state)
    return {
      found: true,
      ticket: {
        id,
        open,
        state,
        assignees: c.assigneePath ? stringsOf(atPath(answer.body, c.assigneePath)) : [],
        org: c.orgPath ? stringsOf(atPath(answer.body, c.orgPath))[0] : undefined,
        assets: stringsOf(atPath(answer.body, c.assetPath!)),
        title: c.titlePath ? stringsOf(atPath(answer.body, c.titlePath))[0] : undefined,
      },
    }
  }
}
