// Jira, through REST API v3: GET /rest/api/3/issue/{key}?fields=status,assignee,summary,<asset
// field>[,<org field>]. Open means the status category is not "done"; the assignee's identities
// are its accountId, emailAddress and (Data Center) name; the asset is a configurable field (a
// custom field holding the jit asset path; text, option or list).
import { includesIgnoringCase, notFound, type Connector, type Lookup } from './connector.js'
import { atPath, getJson, stringsOf } from './http-json.js'
import { authorization } from './secrets.js'
import type { TicketSystemConfig } from '../../policy/types.js'

export class JiraConnector implements Connector {
  constructor(readonly config: TicketSystemConfig) {}

  async lookup(id: string): Promise<Lookup> {
    const fields = ['status', 'assignee', 'summary', this.config.assetField!, ...(this.config.orgField ? [this.config.orgField] : [])]
    const url = `${this.config.url}/rest/api/3/issue/${encodeURIComponent(id)}?fields=${encodeURIComponent(fields.join(','))}`
    const answer = await getJson(url, { authorization: authorization(this.config.auth!), timeoutMs: this.config.timeoutSeconds * 1000, accept404: true })
    if (answer.status === 404) return notFound
    const issue = answer.body as { key?: string; fields?: Record<string, unknown> }
    const f = issue.fields ?? {}
    const status = stringsOf(atPath(f, 'status.name'))[0] ?? 'unknown'
    const category = stringsOf(atPath(f, 'status.statusCategory.key'))[0]
    const assignee = f.assignee as Record<string, unknown> | null | undefined
    return {
      found: true,
      ticket: {
        id: issue.key ?? id,
        open: category !== 'done' && !includesIgnoringCase(this.config.closedStates ?? [], status),
        state: status,
        assignees: assignee ? ['accountId', 'emailAddress', 'name', 'key'].flatMap((k) => stringsOf(assignee[k])) : [],
        org: this.config.orgField ? stringsOf(f[this.config.orgField])[0] : undefined,
        assets: stringsOf(f[this.config.assetField!]),
        title: stringsOf(f.summary)[0],
      },
    }
  }
}
