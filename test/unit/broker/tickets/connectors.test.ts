// The ServiceNow, Jira and generic HTTP connectors, through the broker's own ticket check and
// request path on a real SQLite store. ServiceNow and Jira cannot run here, so they are mocked at
// the HTTP layer with nock, from their documented response shapes (ServiceNow Table API:
// { result: [...] }, dot-walked fields as flat keys, Link rel="next" paging, { error: { message,
// detail }, status: "failure" } errors; Jira REST v3 issue: { key, fields: { status: { name,
// statusCategory: { key } }, assignee: { accountId, emailAddress, ... } } }, { errorMessages }
// errors). Every mock must be called: afterEach fails the test otherwise. Timeouts are tested
// against a real loopback server that never answers (nock's delays do not hold with undici).
import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nock from 'nock'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../../../src/broker/api-error.js'
import { createRequest } from '../../../../src/broker/requests.js'
import { checkTicket, type TicketVerdict } from '../../../../src/broker/tickets/check.js'
import { ServiceNowConnector } from '../../../../src/broker/tickets/servicenow.js'
import { parsePolicy } from '../../../../src/policy/load.js'
import type { Actor } from '../../../../src/broker/context.js'
import { testContext, type TestContext } from '../test-context.js'

const PLC = 'plant-a/line-3/cell-2/plc-07'
const SN = 'https://plant-a.service-now.example'
const JIRA = 'https://plant-a.atlassian.example'
const CMMS = 'https://cmms.plant-a.example'
const SN_PASSWORD = 'sn-pass-Zq81x'
const JIRA_TOKEN = 'jira-token-Yk27w'

const dir = mkdtempSync(join(tmpdir(), 'jit-connectors-'))
const passwordFile = join(dir, 'servicenow-password')
writeFileSync(passwordFile, `${SN_PASSWORD}\n`)

const policy = (options: { snUrl?: string; snTimeout?: string } = {}) => `
version: 1
tickets:
  formats:
    - { system: change, pattern: '^CHG[0-9]{7}$' }
    - { system: maint, pattern: '^MNT-[0-9]+$' }
    - { system: cmms, pattern: '^WR[0-9]{5}$' }
  systems:
    change:
      connector: servicenow
      url: ${options.snUrl ?? SN}
      table: change_request
      auth: { basic: { username: svc-jit, password: { file: ${passwordFile} } } }
      cache_ttl: 30s
      timeout: ${options.snTimeout ?? '3s'}
    maint:
      connector: jira
      url: ${JIRA}
      auth: { basic: { username: jit@plant-a.example, password: { env: JIT_TEST_JIRA_TOKEN } } }
      asset_field: customfield_10050
      user_format: '{user}@plant-a.example'
      cache_ttl: 0s
    cmms:
      connector: http
      url_template: ${CMMS}/api/work-requests/{id}
      auth: { bearer: { env: JIT_TEST_CMMS_TOKEN } }
      state_path: data.status
      assignee_path: data.assignedTo.login
      asset_path: data.equipment.path
      title_path: data.title
      cache_ttl: 0s
rules:
  - name: line3-change
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [diagnose]
    max_ttl: 2h
    ticket: { systems: [change, cmms] }
  - name: line3-maint
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [diagnose]
    max_ttl: 2h
    ticket: { systems: [maint], on_unreachable: allow }
`

const SN_FIELDS = 'number,state,active,short_description,assigned_to.user_name,assigned_to.email,assignment_group.name,cmdb_ci.name'
const snBasic = `Basic ${Buffer.from(`svc-jit:${SN_PASSWORD}`).toString('base64')}`

/** A change_request row as the Table API returns it with sysparm_fields and sysparm_exclude_reference_link. */
function changeRow(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    number: 'CHG0030001',
    state: '-1', // Implement
    active: 'true',
    short_description: 'Replace PLC-07 firmware',
    'assigned_to.user_name': 'alice',
    'assigned_to.email': 'alice@plant-a.example',
    'assignment_group.name': 'Line 3 maintenance',
    'cmdb_ci.name': PLC,
    ...overrides,
  }
}

function snQuery(number: string) {
  return nock(SN)
    .get('/api/now/table/change_request')
    .matchHeader('authorization', snBasic)
    .query({ sysparm_query: `number=${number}`, sysparm_fields: SN_FIELDS, sysparm_limit: '1', sysparm_exclude_reference_link: 'true' })
}

/** A Jira Cloud issue (GET /rest/api/3/issue/{key}?fields=...). */
function jiraIssue(key: string, overrides: { category?: string; status?: string; assignee?: Record<string, unknown> | null; asset?: unknown } = {}) {
  return {
    expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
    id: '10042',
    self: `${JIRA}/rest/api/3/issue/10042`,
    key,
    fields: {
      summary: 'Calibrate line 3 PLC',
      status: {
        self: `${JIRA}/rest/api/3/status/3`,
        description: '',
        name: overrides.status ?? 'In Progress',
        id: '3',
        statusCategory: { self: `${JIRA}/rest/api/3/statuscategory/4`, id: 4, key: overrides.category ?? 'indeterminate', colorName: 'yellow', name: 'In Progress' },
      },
      assignee:
        overrides.assignee === undefined
          ? { self: `${JIRA}/rest/api/3/user?accountId=5b10a2844c20165700ede21g`, accountId: '5b10a2844c20165700ede21g', emailAddress: 'alice@plant-a.example', displayName: 'Alice Meyer', active: true, timeZone: 'Europe/Berlin', accountType: 'atlassian' }
          : overrides.assignee,
      customfield_10050: overrides.asset ?? PLC,
    },
  }
}

function jiraGet(key: string) {
  return nock(JIRA)
    .get(`/rest/api/3/issue/${key}`)
    .matchHeader('authorization', `Basic ${Buffer.from(`jit@plant-a.example:${JIRA_TOKEN}`).toString('base64')}`)
    .query({ fields: 'status,assignee,summary,customfield_10050' })
}

let t: TestContext
let alice: Actor

beforeAll(() => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  process.env.JIT_TEST_JIRA_TOKEN = JIRA_TOKEN
  process.env.JIT_TEST_CMMS_TOKEN = 'cmms-token'
})

afterAll(() => {
  nock.enableNetConnect()
  delete process.env.JIT_TEST_JIRA_TOKEN
  delete process.env.JIT_TEST_CMMS_TOKEN
  rmSync(dir, { recursive: true, force: true })
})

beforeEach(async () => {
  t = await testContext(policy())
  await t.ctx.store.assets.upsert({ path: PLC, attributes: { state: 'running' } })
  alice = await t.actor('alice', ['technician'])
})

afterEach(() => {
  const pending = nock.pendingMocks()
  nock.cleanAll()
  t.close()
  expect(pending, 'every mocked call must be made').toEqual([])
})

const check = (ticket: string, who: Actor = alice, asset = PLC): Promise<TicketVerdict> => checkTicket(t.ctx, who.user, ticket, asset)

async function requestWith(ticket: string, verdict: TicketVerdict): Promise<ApiError | { state: string; notes?: unknown }> {
  try {
    const { result } = await createRequest(t.ctx, alice, { ticket, asset: PLC, scope: 'diagnose', ttlSeconds: 600, reason: 'r' }, verdict)
    const decision = (await t.ctx.store.auditLog.events({ requestId: result.request.id })).find((e) => e.type === 'policy.decision')!
    return { state: result.request.state, notes: decision.data.notes }
  } catch (error) {
    if (error instanceof ApiError) return error
    throw error
  }
}

describe('ServiceNow (Table API)', () => {
  it('passes an open change assigned to the requester for the asset, and opens the session', async () => {
    snQuery('CHG0030001').reply(200, { result: [changeRow()] }, { 'X-Total-Count': '1' })
    const verdict = await check('CHG0030001')
    expect(verdict).toEqual({ kind: 'checked', system: 'change', ticket: 'CHG0030001', failures: [] })
    expect(await requestWith('CHG0030001', verdict)).toMatchObject({ state: 'approved' })
  })

  it('refuses a closed change, one for another asset, one assigned to someone else, each with its reason', async () => {
    snQuery('CHG0030001').reply(200, { result: [changeRow({ state: '3', active: 'false', 'cmdb_ci.name': 'plant-a/line-1/cell-1/plc-01', 'assigned_to.user_name': 'bob', 'assigned_to.email': 'bob@plant-a.example' })] })
    const verdict = await check('CHG0030001')
    expect(verdict).toMatchObject({
      kind: 'checked',
      failures: [
        'ticket CHG0030001 is closed (state 3, inactive); access needs an open ticket',
        `ticket CHG0030001 is for plant-a/line-1/cell-1/plc-01, not ${PLC} (nor its line or cell)`,
        'ticket CHG0030001 is assigned to bob, not to alice',
      ],
    })
    const refused = (await requestWith('CHG0030001', verdict)) as ApiError
    expect(refused.code).toBe('policy-denied')
    expect(refused.extra.reasons).toEqual((verdict as { failures: string[] }).failures)
  })

  it('treats "No Record found" (404) and an empty result as a ticket that does not exist', async () => {
    snQuery('CHG0030404').reply(404, { error: { message: 'No Record found', detail: 'Records matching query not found. Check query parameter or offset parameter' }, status: 'failure' })
    snQuery('CHG0030405').reply(200, { result: [] })
    expect(await check('CHG0030404')).toMatchObject({ failures: ['ticket CHG0030404 does not exist in the change ticket system'] })
    expect(await check('CHG0030405')).toMatchObject({ failures: ['ticket CHG0030405 does not exist in the change ticket system'] })
  })

  it('fails closed when it refuses the credentials (401), and says so without the secret', async () => {
    snQuery('CHG0030001').reply(401, { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' })
    const verdict = await check('CHG0030001')
    expect(verdict).toEqual({ kind: 'unreachable', system: 'change', ticket: 'CHG0030001', problem: "it refused jit's credentials (HTTP 401)" })
    const refused = (await requestWith('CHG0030001', verdict)) as ApiError
    expect(refused.extra.reasons).toEqual(["the change ticket system could not be asked about CHG0030001: it refused jit's credentials (HTTP 401); rule line3-change refuses until it can be checked"])
    expect(JSON.stringify(refused.extra)).not.toContain(SN_PASSWORD)
  })

  it('waits out a short Retry-After once on 429, and fails closed on a long one', async () => {
    snQuery('CHG0030001').reply(429, { error: { message: 'Too Many Requests' }, status: 'failure' }, { 'Retry-After': '1' })
    snQuery('CHG0030001').reply(200, { result: [changeRow()] })
    expect(await check('CHG0030001')).toMatchObject({ kind: 'checked', failures: [] })
    snQuery('CHG0030002').reply(429, { error: { message: 'Too Many Requests' }, status: 'failure' }, { 'Retry-After': '120' })
    expect(await check('CHG0030002')).toMatchObject({ kind: 'unreachable', problem: 'it is rate-limiting jit (HTTP 429, retry after 120s)' })
  })

  it('fails closed on a server error', async () => {
    snQuery('CHG0030001').reply(503, '<html>Service Unavailable</html>')
    expect(await check('CHG0030001')).toMatchObject({ kind: 'unreachable', problem: 'it failed (HTTP 503)' })
  })

  it('reuses an answer for cache_ttl, and asks again after it', async () => {
    snQuery('CHG0030001').reply(200, { result: [changeRow()] })
    expect(await check('CHG0030001')).toMatchObject({ failures: [] })
    t.clock.now += 29_000
    expect(await check('CHG0030001')).toMatchObject({ failures: [] }) // no second call: nock would refuse it
    expect(nock.pendingMocks()).toEqual([])
    snQuery('CHG0030001').reply(200, { result: [changeRow({ state: '3', active: 'false' })] })
    t.clock.now += 2_000
    expect(await check('CHG0030001')).toMatchObject({ failures: ['ticket CHG0030001 is closed (state 3, inactive); access needs an open ticket'] })
  })

  it('asks for many tickets at once for the poll, following the Link header through every page', async () => {
    const connector = new ServiceNowConnector(parsePolicy(policy()).ticketSystems.change)
    const page = (offset: number) => ({ sysparm_query: 'numberINCHG0030001,CHG0030002,CHG0030003', sysparm_fields: SN_FIELDS, sysparm_limit: '100', sysparm_exclude_reference_link: 'true', ...(offset ? { sysparm_offset: String(offset) } : {}) })
    const next = `<${SN}/api/now/table/change_request?${new URLSearchParams(page(100))}>;rel="next",<${SN}/api/now/table/change_request?${new URLSearchParams(page(100))}>;rel="last"`
    nock(SN).get('/api/now/table/change_request').matchHeader('authorization', snBasic).query(page(0)).reply(200, { result: [changeRow()] }, { Link: next, 'X-Total-Count': '2' })
    nock(SN).get('/api/now/table/change_request').matchHeader('authorization', snBasic).query(page(100)).reply(200, { result: [changeRow({ number: 'CHG0030002', state: '4', active: 'false' })] }, { 'X-Total-Count': '2' })
    const answers = await connector.lookupMany(['CHG0030001', 'CHG0030002', 'CHG0030003'])
    expect(Object.fromEntries([...answers].map(([id, a]) => [id, a.found ? a.ticket.open : 'missing']))).toEqual({ CHG0030001: true, CHG0030002: false, CHG0030003: 'missing' })
  })

  it('fails closed when the credential file is gone, naming the file, not a secret', async () => {
    rmSync(passwordFile)
    try {
      expect(await check('CHG0030001')).toEqual({ kind: 'unreachable', system: 'change', ticket: 'CHG0030001', problem: `its credential is missing: the file ${passwordFile} cannot be read` })
    } finally {
      writeFileSync(passwordFile, `${SN_PASSWORD}\n`)
    }
  })
})

describe('a ticket system that does not answer in time', () => {
  let server: Server
  let url: string

  beforeAll(async () => {
    server = createServer(() => {}) // takes the request and never answers
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterAll(() => {
    server.closeAllConnections()
    server.close()
  })

  it('times out after the policy timeout and fails closed', async () => {
    t.ctx.policy = parsePolicy(policy({ snUrl: url, snTimeout: '1s' }))
    const started = Date.now()
    expect(await check('CHG0030001')).toEqual({ kind: 'unreachable', system: 'change', ticket: 'CHG0030001', problem: 'it did not answer within 1s' })
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})

describe('Jira (REST v3 issue)', () => {
  it('passes an issue in progress assigned to the requester (by e-mail) for the asset', async () => {
    jiraGet('MNT-42').reply(200, jiraIssue('MNT-42'))
    expect(await check('MNT-42')).toEqual({ kind: 'checked', system: 'maint', ticket: 'MNT-42', failures: [] })
  })

  it('refuses a done issue that is unassigned, and accepts a line-level asset option', async () => {
    jiraGet('MNT-43').reply(200, jiraIssue('MNT-43', { category: 'done', status: 'Done', assignee: null, asset: [{ self: `${JIRA}/rest/api/3/customFieldOption/10100`, value: 'plant-a/line-3', id: '10100' }] }))
    expect(await check('MNT-43')).toMatchObject({
      failures: ['ticket MNT-43 is closed (Done); access needs an open ticket', 'ticket MNT-43 is not assigned to anyone; it must be assigned to alice'],
    })
  })

  it('treats 404 as a ticket that does not exist', async () => {
    jiraGet('MNT-44').reply(404, { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} })
    expect(await check('MNT-44')).toMatchObject({ failures: ['ticket MNT-44 does not exist in the maint ticket system'] })
  })

  it('on 429 without a usable Retry-After, follows on_unreachable: allow, noted in the audit trail', async () => {
    jiraGet('MNT-45').reply(429, { errorMessages: ['Rate limit exceeded.'] })
    const verdict = await check('MNT-45')
    expect(verdict).toMatchObject({ kind: 'unreachable', problem: 'it is rate-limiting jit (HTTP 429)' })
    expect(await requestWith('MNT-45', verdict)).toEqual({
      state: 'approved',
      notes: ['the maint ticket system could not be asked about MNT-45: it is rate-limiting jit (HTTP 429); rule line3-maint allows it unchecked (on_unreachable: allow)'],
    })
  })
})

describe('generic HTTP connector', () => {
  it('reads state, assignee, asset and title at the configured JSON paths', async () => {
    const body = (status: string) => ({ data: { id: 'WR12345', status, title: 'Lube robot\u001b[2J', assignedTo: { login: 'alice' }, equipment: { path: PLC } } })
    nock(CMMS).get('/api/work-requests/WR12345').matchHeader('authorization', 'Bearer cmms-token').reply(200, body('in-progress'))
    nock(CMMS).get('/api/work-requests/WR12346').matchHeader('authorization', 'Bearer cmms-token').reply(200, body('Cancelled'))
    expect(await check('WR12345')).toMatchObject({ kind: 'checked', failures: [] })
    expect(await check('WR12346')).toMatchObject({ failures: ['ticket WR12346 is closed (Cancelled); access needs an open ticket'] })
  })

  it('fails closed when its token variable is not set, naming the variable', async () => {
    delete process.env.JIT_TEST_CMMS_TOKEN
    try {
      expect(await check('WR12345')).toMatchObject({ kind: 'unreachable', problem: 'its credential is missing: environment variable JIT_TEST_CMMS_TOKEN is not set' })
    } finally {
      process.env.JIT_TEST_CMMS_TOKEN = 'cmms-token'
    }
  })
})
