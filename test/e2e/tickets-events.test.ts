// Closing a ticket in its own system ends access: the signed event (POST /v1/tickets/events) and
// the poll as a backstop. A real broker on loopback with its SQLite store, started in this
// process so that its calls to ServiceNow and Jira (which cannot run here) meet nock mocks built
// from their documented shapes; every mock must be called. A bad signature, a stale or
// replayed event, an unknown ticket or a system without a secret is refused and changes nothing.
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import nock from 'nock'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRequest } from '../../src/broker/requests.js'
import { startBroker, type RunningBroker } from '../../src/broker/server.js'
import type { Actor } from '../../src/broker/context.js'
import { checkTicket } from '../../src/broker/tickets/check.js'
import { enrollmentCode } from '../../src/broker/admin.js'
import { deviceAssertion, newDeviceKeyPair } from '../../src/cli/device/device-key.js'
import { registerOf } from '../../src/broker/tickets/lookups.js'
import { TICKET_SIGNATURE_HEADER, signTicketEvent, type TicketEvent } from '../../src/wire/tickets.js'
import { PLC, cleanup, tempDir } from './harness.js'
import { sqliteOf } from '../../src/broker/store/sqlite-async-store.js'

const SN = 'https://plant-a.service-now.example'
const JIRA = 'https://plant-a.atlassian.example'
const WO_SECRET = 'wo-shared-secret-3f9a'
const MAINT_SECRET = 'maint-shared-secret-8b21'

const POLICY = (incidentUrl: string) => `
version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
    - { system: change, pattern: '^CHG[0-9]{7}$' }
    - { system: maint, pattern: '^MNT-[0-9]+$' }
    - { system: legacy, pattern: '^LG[0-9]{4}$' }
    - { system: incident, pattern: '^INC[0-9]{7}$' }
  systems:
    workorder: { connector: builtin, webhook_secret: { env: JIT_TEST_WO_SECRET } }
    change:
      connector: servicenow
      url: ${SN}
      table: change_request
      auth: { bearer: { env: JIT_TEST_SN_TOKEN } }
      poll_interval: 1s
      cache_ttl: 0s
    maint:
      connector: jira
      url: ${JIRA}
      auth: { bearer: { env: JIT_TEST_JIRA_TOKEN } }
      asset_field: customfield_10050
      webhook_secret: { env: JIT_TEST_MAINT_SECRET }
      poll_interval: 10m
    legacy: { connector: builtin }
    incident: { connector: http, url_template: '${incidentUrl}/incidents/{id}', state_path: state, asset_path: asset, timeout: 10s }
rules:
  - name: line3-diagnose
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [diagnose]
    max_ttl: 2h
break_glass:
  who: { roles: [technician] }
  assets: ['plant-a/line-3/**']
  scopes: [control]
  max_ttl: 15m
  notify: ['role:security']
  review_due: 24h
`

const home = tempDir('jit-ticket-events-')
let broker: RunningBroker
let alice: Actor
/** An incident system that takes every call and never answers; it counts the calls. */
let silent: Server
let silentCalls = 0

function snRow(state: string, active: string) {
  return { number: 'CHG0030001', state, active, short_description: 'PLC firmware', 'assigned_to.user_name': 'alice', 'assigned_to.email': 'alice@plant-a.example', 'assignment_group.name': 'Line 3', 'cmdb_ci.name': PLC }
}

function jiraIssue(key: string) {
  return { id: '10042', key, fields: { summary: 'Calibrate', status: { name: 'In Progress', statusCategory: { key: 'indeterminate' } }, assignee: { accountId: '5b10a2844c20165700ede21g', name: 'alice' }, customfield_10050: PLC } }
}

async function open(ticket: string): Promise<string> {
  const body = { ticket, asset: PLC, scope: 'diagnose', ttlSeconds: 1200, reason: 'r' }
  const { result } = await createRequest(broker.ctx, alice, body, await checkTicket(broker.ctx, alice.user, ticket, PLC))
  return result.grant!.session.id
}

const sqlite = () => sqliteOf(broker.ctx.store).sqlite
const sessionState = async (id: string) => (await broker.ctx.store.sessions.get(id))!.state
const endData = async (id: string) => (await broker.ctx.store.auditLog.events({ sessionId: id })).find((e) => e.type === 'session.revoked')?.data

function counts() {
  const count = (sql: string) => (sqlite().db.prepare(sql).get() as { n: number }).n
  return {
    audit: count('SELECT count(*) AS n FROM audit'),
    active: count("SELECT count(*) AS n FROM sessions WHERE state = 'active'"),
    events: count('SELECT count(*) AS n FROM ticket_events'),
    closedTickets: count("SELECT count(*) AS n FROM ticket_register WHERE state = 'closed'"),
  }
}

function event(overrides: Partial<TicketEvent> = {}): TicketEvent {
  return { system: 'workorder', eventId: randomUUID(), ticket: 'WO-200001', state: 'closed', timestamp: Math.floor(Date.now() / 1000), ...overrides }
}

async function post(body: string, signature: string | undefined): Promise<{ status: number; json: any }> {
  const response = await fetch(`${broker.url}/v1/tickets/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { [TICKET_SIGNATURE_HEADER]: signature } : {}) },
    body,
  })
  return { status: response.status, json: await response.json() }
}

const send = (e: TicketEvent, secret = WO_SECRET) => {
  const body = JSON.stringify(e)
  return post(body, signTicketEvent(secret, body))
}

beforeAll(async () => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  Object.assign(process.env, { JIT_TEST_WO_SECRET: WO_SECRET, JIT_TEST_MAINT_SECRET: MAINT_SECRET, JIT_TEST_SN_TOKEN: 'sn-token', JIT_TEST_JIRA_TOKEN: 'jira-token' })
  silent = createServer(() => silentCalls++)
  await new Promise<void>((ready) => silent.listen(0, '127.0.0.1', ready))
  const policyFile = join(home, 'policy.yaml')
  writeFileSync(policyFile, POLICY(`http://127.0.0.1:${(silent.address() as { port: number }).port}`))
  broker = await startBroker({ dataDir: join(home, 'data'), policyFile, host: '127.0.0.1', port: 0, log: () => {}, watchPolicy: false })
  const store = broker.ctx.store
  await store.assets.upsert({ path: PLC, attributes: { state: 'running' } })
  await store.users.upsert({ name: 'alice', roles: ['technician'], disabled: false })
  await store.devices.add({ id: 'dev_alice', user: 'alice', name: 'laptop', publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }, jkt: 'jkt-alice', createdAt: '' })
  alice = { user: (await store.users.get('alice'))!, deviceId: 'dev_alice' }
  await broker.ctx.store.transaction(async () => {
    for (const id of ['WO-200001', 'WO-200002', 'LG0001']) await registerOf(broker.ctx.store).add({ id, asset: PLC, assignee: 'alice' }, 'test')
  })
})

afterEach(() => {
  const pending = nock.pendingMocks()
  nock.cleanAll()
  expect(pending, 'every mocked call must be made').toEqual([])
})

afterAll(async () => {
  nock.enableNetConnect()
  await broker.close()
  silent.closeAllConnections()
  silent.close()
  cleanup(home)
})

describe('signed ticket events', () => {
  it('refuses a bad signature, a stale event, a timestamp in milliseconds (named so), an unknown ticket and a system without a secret; nothing changes', async () => {
    const session = await open('WO-200001')
    await new Promise((r) => setTimeout(r, 50))
    const before = counts()
    const body = JSON.stringify(event())
    const refusals = [
      await post(body, signTicketEvent('not-the-secret', body)),
      await post(body, undefined),
      await post(body.replace('"closed"', '"cancelled"'), signTicketEvent(WO_SECRET, body)),
      await send(event({ timestamp: Math.floor(Date.now() / 1000) - 3600 })),
      await send(event({ timestamp: Date.now() })),
      await send(event({ ticket: 'WO-299999' })),
      await send(event({ system: 'legacy', ticket: 'LG0001' })),
      await send(event({ ticket: 'CHG0030001' })),
    ]
    expect(refusals.map((r) => [r.status, r.json.detail])).toEqual([
      [401, 'The event signature does not match.'],
      [401, 'The event signature does not match.'],
      [401, 'The event signature does not match.'],
      [401, expect.stringMatching(/^The event's timestamp is more than 300s away from the broker's clock \(a replay, or a clock to fix\); it is integer seconds since the epoch \(the broker's clock says \d+\)\.$/)],
      [400, expect.stringMatching(/^The event's timestamp \d{13} looks like milliseconds; send integer seconds since the epoch \(the broker's clock says \d{10}\)\.$/)],
      [404, 'Ticket WO-299999 is unknown to this broker; nothing changed.'],
      [401, 'Ticket system "legacy" sends no signed events to this broker.'],
      [400, '"CHG0030001" is not a workorder ticket id.'],
    ])
    expect(counts()).toEqual(before)
    expect(await sessionState(session)).toBe('active')
    expect((await registerOf(broker.ctx.store).get('WO-200001'))!.state).toBe('open')
  })

  it('a signed close ends every session of the ticket at once; the same event again is a replay and changes nothing', async () => {
    const first = await open('WO-200001')
    const second = await open('WO-200001')
    const other = await open('WO-200002')
    const ofTicket = (await broker.ctx.store.sessions.list({ activeOnly: true })).filter((s) => s.ticket === 'WO-200001').map((s) => s.id)
    expect(ofTicket).toEqual(expect.arrayContaining([first, second]))
    const closing = event({ state: 'cancelled' })
    const body = JSON.stringify(closing)
    const accepted = await post(body, signTicketEvent(WO_SECRET, body))
    expect(accepted.status).toBe(200)
    expect(accepted.json).toMatchObject({ accepted: true, ticket: 'WO-200001', state: 'cancelled' })
    expect([...accepted.json.endedSessions].sort()).toEqual(ofTicket.sort())
    for (const id of ofTicket) {
      expect(await sessionState(id)).toBe('revoked')
      expect(await endData(id)).toMatchObject({ cause: 'ticket-closed', ticket: 'WO-200001', via: 'webhook', ticketState: 'cancelled' })
    }
    expect(await sessionState(other)).toBe('active')
    expect((await registerOf(broker.ctx.store).get('WO-200001'))!.state).toBe('closed')

    const before = counts()
    const replay = await post(body, signTicketEvent(WO_SECRET, body))
    expect([replay.status, replay.json.detail]).toEqual([409, `Event ${closing.eventId} was already received; a replay changes nothing.`])
    expect(counts()).toEqual(before)
  })

  it('a reopened ticket opens nothing by itself', async () => {
    const before = counts()
    const reopened = await send(event({ state: 'reopened' }))
    expect(reopened.status).toBe(200)
    expect(reopened.json.endedSessions).toEqual([])
    const after = counts()
    expect(after.active).toBe(before.active)
    expect(after.closedTickets).toBe(before.closedTickets - 1)
  })

  it('ends a Jira session when Jira signs a close for its issue', async () => {
    nock(JIRA).get('/rest/api/3/issue/MNT-7').query({ fields: 'status,assignee,summary,customfield_10050' }).matchHeader('authorization', 'Bearer jira-token').reply(200, jiraIssue('MNT-7'))
    const session = await open('MNT-7')
    expect(await sessionState(session)).toBe('active')
    const wrongSecret = await send(event({ system: 'maint', ticket: 'MNT-7' }), WO_SECRET)
    expect(wrongSecret.status).toBe(401)
    const closed = await send(event({ system: 'maint', ticket: 'MNT-7' }), MAINT_SECRET)
    expect(closed.status).toBe(200)
    expect(closed.json.endedSessions).toEqual([session])
    expect(await endData(session)).toMatchObject({ cause: 'ticket-closed', ticket: 'MNT-7', via: 'webhook' })
  })
})

describe('the poll, as a backstop', () => {
  it('ends a ServiceNow session within seconds of its change closing, with no event sent', async () => {
    const fields = 'number,state,active,short_description,assigned_to.user_name,assigned_to.email,assignment_group.name,cmdb_ci.name'
    nock(SN).get('/api/now/table/change_request').query({ sysparm_query: 'number=CHG0030001', sysparm_fields: fields, sysparm_limit: '1', sysparm_exclude_reference_link: 'true' }).reply(200, { result: [snRow('-1', 'true')] })
    const polled = nock(SN)
      .get('/api/now/table/change_request')
      .query({ sysparm_query: 'numberINCHG0030001', sysparm_fields: fields, sysparm_limit: '100', sysparm_exclude_reference_link: 'true' })
      .reply(200, { result: [snRow('3', 'false')] })
    const session = await open('CHG0030001')
    const started = Date.now()
    while ((await sessionState(session)) === 'active' && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50))
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(polled.isDone()).toBe(true)
    expect(await endData(session)).toMatchObject({ cause: 'ticket-closed', ticket: 'CHG0030001', via: 'poll', ticketState: 'closed' })
  })
})

describe('break-glass', () => {
  it('never waits for a ticket system, even one that does not answer', async () => {
    await broker.ctx.store.users.upsert({ name: 'bob', roles: ['technician'], disabled: false })
    const { code } = await enrollmentCode(broker.ctx.store, 'bob', 600)
    const { privateKey, publicJwk } = newDeviceKeyPair()
    const enrolled = await fetch(`${broker.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, publicKey: publicJwk, deviceName: 'bob-laptop' }) })
    expect(enrolled.status).toBe(201)
    const key = { deviceId: ((await enrolled.json()) as { deviceId: string }).deviceId, privateKey }
    const body = JSON.stringify({ asset: PLC, reason: 'line 3 down, nobody answers', incident: 'INC0012345' })
    const started = Date.now()
    const response = await fetch(`${broker.url}/v1/break-glass`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: deviceAssertion(key, 'POST', '/v1/break-glass', body, broker.url) },
      body,
    })
    expect(response.status).toBe(201)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(silentCalls).toBe(0)
  })
})
