// ServiceNow, through its Table API: GET /api/now/table/{incident|change_request|wm_order} with
// sysparm_query=number=ID. Open means `active` is true and the state is not a closed one (the
// table's defaults, or closed_states in the policy); the assignee is assigned_to (user name and
// e-mail, dot-walked), the organisation the assignment group, the asset a configurable field
// (default cmdb_ci.name) that holds the jit asset path. The poll asks for many tickets at once
// (numberIN…) and follows the Link header's rel="next" pages.
import type { TicketSystemConfig } from '../../policy/types.js'
import { includesIgnoringCase, notFound, TicketSystemUnreachable, type Connector, type Lookup, type TicketFacts } from './connector.js'
import { getJson } from './http-json.js'
import { authorization } from './secrets.js'

/** The state values ServiceNow ships for each table that mean the work is over. */
const CLOSED_STATES: Record<NonNullable<TicketSystemConfig['table']>, string[]> = {
  incident: ['6', '7', '8'], // resolved, closed, canceled
  change_request: ['3', '4'], // closed, canceled
  wm_order: ['3', '4', '7'], // closed complete, closed incomplete, cancelled
}

const PAGE_SIZE = 100
const MAX_PAGES = 50

export class ServiceNowConnector implements Connector {
  readonly #assetField: string
  readonly #orgField: string
  readonly #closed: string[]

  constructor(readonly config: TicketSystemConfig) {
    this.#assetField = config.assetField ?? 'cmdb_ci.name'
    this.#orgField = config.orgField ?? 'assignment_group.name'
    this.#closed = config.closedStates ?? CLOSED_STATES[config.table ?? 'incident']
  }

  #url(query: string, limit: number): string {
    const fields = ['number', 'state', 'active', 'short_description', 'assigned_to.user_name', 'assigned_to.email', this.#orgField, this.#assetField]
    const params = new URLSearchParams({
      sysparm_query: query,
      sysparm_fields: [...new Set(fields)].join(','),
      sysparm_limit: String(limit),
      sysparm_exclude_reference_link: 'true',
    })
    return `${this.config.url}/api/now/table/${this.config.table}?${params}`
  }

  async lookup(id: string): Promise<Lookup> {
    const answer = await getJson(this.#url(`number=${id}`, 1), { authorization: authorization(this.config.auth!), timeoutMs: this.config.timeoutSeconds * 1000, accept404: true })
    if (answer.status === 404) return notFound
    const record = this.#records(answer.body).find((r) => r.number === id)
    return record ? { found: true, ticket: this.#facts(record) } : notFound
  }

  async lookupMany(ids: string[]): Promise<Map<string, Lookup>> {
    const found = new Map<string, Lookup>(ids.map((id) => [id, notFound]))
    const auth = authorization(this.config.auth!)
    // A bounded query string per call: the ids go in batches of a page each.
    for (let start = 0; start < ids.length; start += PAGE_SIZE) {
      let url: string | undefined = this.#url(`numberIN${ids.slice(start, start + PAGE_SIZE).join(',')}`, PAGE_SIZE)
      for (let page = 0; url && page < MAX_PAGES; page++) {
        const answer = await getJson(url, { authorization: auth, timeoutMs: this.config.timeoutSeconds * 1000, accept404: true })
        if (answer.status === 404) break
        for (const record of this.#records(answer.body)) {
          if (typeof record.number === 'string' && found.has(record.number)) found.set(record.number, { found: true, ticket: this.#facts(record) })
        }
        url = nextLink(answer.headers.link, this.config.url!)
      }
    }
    return found
  }

  #records(body: unknown): Record<string, unknown>[] {
    const result = (body as { result?: unknown } | undefined)?.result
    if (!Array.isArray(result)) throw new TicketSystemUnreachable('it answered without a "result" list (is the URL a ServiceNow instance?)')
    return result as Record<string, unknown>[]
  }

  #facts(record: Record<string, unknown>): TicketFacts {
    const text = (key: string) => (typeof record[key] === 'string' && (record[key] as string).trim() ? (record[key] as string).trim() : undefined)
    const state = text('state') ?? ''
    const active = text('active') !== 'false'
    return {
      id: String(record.number),
      open: active && !includesIgnoringCase(this.#closed, state),
      state: active ? `state ${state}` : `state ${state}, inactive`,
      assignees: [text('assigned_to.user_name'), text('assigned_to.email')].filter((v): v is string => v !== undefined),
      org: text(this.#orgField),
      assets: [text(this.#assetField)].filter((v): v is string => v !== undefined),
      title: text('short_description'),
    }
  }
}

/** The rel="next" URL of a Link header, when it stays on the same instance. */
function nextLink(header: string | string[] | undefined, base: string): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header
  if (!value) return undefined
  for (const part of value.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim())
    if (match && match[1].startsWith(`${base}/`)) return match[1]
  }
  return undefined
}
