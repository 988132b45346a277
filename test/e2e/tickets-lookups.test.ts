// What the broker makes of a ticket system's answers, over its real HTTP API: a real broker on
// loopback with its store, started in this process so that its calls to a plant's CMMS (a third
// party, which cannot run here) meet nock mocks; every mock must be called. The requests,
// approvals and renewals are real device-signed HTTP calls.
// - A state the generic HTTP connector cannot read (missing, not text, in neither open_states
//   nor closed_states) is an unreachable system, never an open ticket: the rule's on_unreachable
//   decides (deny by default), and the refusal says why.
// - The paths that open or extend a session (the last approval, a renewal) ask the system afresh:
//   a ticket closed a moment ago is refused there although a lookup inside cache_ttl said open.
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import nock from 'nock'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { enrollmentCode } from '../../src/broker/admin.js'
import { startBroker, type RunningBroker } from '../../src/broker/server.js'
import { deviceAssertion, newDeviceKeyPair, type DeviceKey } from '../../src/cli/device/device-key.js'
import { PLC, cleanup, tempDir } from './harness.js'
import { waitFor } from './revocation-helpers.js'

const CMMS = 'https://cmms.plant-a.example'
const LAX = 'https://lax-cmms.plant-a.example'
const POLLED = 'https://polled-cmms.plant-a.example'

const POLICY = `
version: 1
tickets:
  formats:
    - { system: cmms, pattern: '^WR[0-9]{5}$' }
    - { system: lax, pattern: '^LX[0-9]{5}$' }
    - { system: polled, pattern: '^PW[0-9]{5}$' }
  systems:
    cmms:
      connector: http
      url_template: ${CMMS}/api/work-requests/{id}
      state_path: data.status
      assignee_path: data.assignedTo
      asset_path: data.equipment
      open_states: [Open, In Progress]
      closed_states: [Closed, Cancelled]
      cache_ttl: 30s
      poll_interval: 10m
    lax:
      connector: http
      url_template: ${LAX}/wr/{id}
      state_path: status
      asset_path: equipment
      assignee_path: assignedTo
      poll_interval: 10m
    polled:
      connector: http
      url_template: ${POLLED}/wr/{id}
      state_path: status
      asset_path: equipment
      assignee_path: assignedTo
      cache_ttl: 0s
      poll_interval: 1s
rules:
  - name: line3-diagnose
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [diagnose]
    max_ttl: 2h
    ticket: { systems: [cmms] }
  - name: line3-control
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [control]
    max_ttl: 2h
    approval: { count: 1, from_roles: [shift-lead] }
    ticket: { systems: [cmms] }
  - name: line3-read-lax
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [read]
    max_ttl: 2h
    ticket: { systems: [lax], on_unreachable: allow }
  - name: line3-inspect-polled
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [inspect]
    max_ttl: 2h
    ticket: { systems: [polled] }
`

const home = tempDir('jit-ticket-lookups-')
let broker: RunningBroker
let alice: DeviceKey
let sam: DeviceKey
const brokerLog: string[] = []

/** A CMMS work request as its API returns it. */
const workRequest = (id: string, status: unknown) => ({ data: { id, status, title: 'Lube robot', assignedTo: 'alice', equipment: PLC } })
const cmms = (id: string) => nock(CMMS).get(`/api/work-requests/${id}`)

async function enroll(name: string, roles: string[]): Promise<DeviceKey> {
  await broker.ctx.store.users.upsert({ name, roles, disabled: false })
  const { code } = await enrollmentCode(broker.ctx.store, name, 600)
  const { privateKey, publicJwk } = newDeviceKeyPair()
  const enrolled = await fetch(`${broker.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, publicKey: publicJwk, deviceName: `${name}-laptop` }) })
  expect(enrolled.status).toBe(201)
  return { deviceId: ((await enrolled.json()) as { deviceId: string }).deviceId, privateKey }
}

/** A device-signed POST to the broker's API. */
async function post(key: DeviceKey, path: string, payload: unknown): Promise<{ status: number; json: any }> {
  const body = JSON.stringify(payload)
  const response = await fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: deviceAssertion(key, 'POST', path, body, broker.url) },
    body,
  })
  return { status: response.status, json: await response.json() }
}

const request = (ticket: string, scope: string) => post(alice, '/v1/requests', { ticket, asset: PLC, scope, ttlSeconds: 1200, reason: 'lube robot' })

beforeAll(async () => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  const policyFile = join(home, 'policy.yaml')
  writeFileSync(policyFile, POLICY)
  broker = await startBroker({ dataDir: join(home, 'data'), policyFile, host: '127.0.0.1', port: 0, log: (line) => brokerLog.push(line), watchPolicy: false })
  await broker.ctx.store.assets.upsert({ path: PLC, attributes: { state: 'running' } })
  alice = await enroll('alice', ['technician'])
  sam = await enroll('sam', ['shift-lead'])
})

afterEach(() => {
  const pending = nock.pendingMocks()
  nock.cleanAll()
  expect(pending, 'every mocked call must be made').toEqual([])
})

afterAll(async () => {
  nock.enableNetConnect()
  await broker.close()
  cleanup(home)
})

describe('a state the generic HTTP connector cannot read', () => {
  const unreadable = [
    { name: 'no state at all', status: undefined, reason: 'its answer has no state at data.status' },
    { name: 'a state that is not text', status: 3, reason: 'its answer\'s state at data.status is not text (number)' },
    { name: 'a state in neither list', status: 'Scheduled', reason: 'its answer\'s state "Scheduled" at data.status is in neither open_states nor closed_states' },
  ]
  for (const c of unreadable) {
    it(`${c.name} is an unreachable system: refused (on_unreachable: deny), the reason in the refusal, no session`, async () => {
      cmms('WR10001').reply(200, workRequest('WR10001', c.status))
      const refused = await request('WR10001', 'diagnose')
      expect(refused.status, JSON.stringify(refused.json)).toBe(403)
      expect(refused.json.reasons).toEqual([`the cmms ticket system could not be asked about WR10001: ${c.reason}; rule line3-diagnose refuses until it can be checked`])
      expect(await broker.ctx.store.sessions.list({ user: 'alice', activeOnly: true }, Date.now() / 1000)).toEqual([])
    })
  }

  it('a readable open state still opens a session, and a closed one is refused as closed', async () => {
    cmms('WR10002').reply(200, workRequest('WR10002', 'In Progress'))
    expect((await request('WR10002', 'diagnose')).status).toBe(201)
    cmms('WR10003').reply(200, workRequest('WR10003', 'Cancelled'))
    const closed = await request('WR10003', 'diagnose')
    expect(closed.status).toBe(403)
    expect(closed.json.reasons).toEqual(['ticket WR10003 is closed (Cancelled); access needs an open ticket'])
  })

  it('follows on_unreachable: allow, with the reason kept in the audit trail', async () => {
    nock(LAX).get('/wr/LX20001').reply(200, { status: 'Scheduled', equipment: PLC, assignedTo: 'alice' })
    const allowed = await post(alice, '/v1/requests', { ticket: 'LX20001', asset: PLC, scope: 'read', ttlSeconds: 1200, reason: 'look' })
    expect(allowed.status).toBe(201)
    const audited = [...(await broker.ctx.store.auditLog.events({ requestId: allowed.json.request.id }))].map((e) => JSON.stringify(e.data)).join('\n')
    expect(audited).toContain('its answer\'s state \\"Scheduled\\" at status is in neither open_states nor closed_states; rule line3-read-lax allows it unchecked (on_unreachable: allow)')
  })
})

describe('the paths that open or extend a session ask the ticket system afresh', () => {
  it('the last approval: a ticket closed after the request (inside cache_ttl) is refused, no session', async () => {
    cmms('WR10010').reply(200, workRequest('WR10010', 'Open'))
    const pending = await request('WR10010', 'control')
    expect(pending.status).toBe(202)
    // Closed in the CMMS seconds later; the broker's lookup of 30 s ago said open.
    cmms('WR10010').reply(200, workRequest('WR10010', 'Closed'))
    const approved = await post(sam, `/v1/requests/${pending.json.request.id}/approve`, { comment: 'ok' })
    expect(approved.status).toBe(403)
    expect(approved.json.reasons).toContain('ticket WR10010 is closed; access needs an open ticket')
    expect((await broker.ctx.store.requests.get(pending.json.request.id))!.state).not.toBe('approved')
  })

  it('a renewal: a ticket closed since the session opened (inside cache_ttl) is refused, the expiry unchanged', async () => {
    cmms('WR10011').reply(200, workRequest('WR10011', 'Open'))
    const opened = await request('WR10011', 'diagnose')
    expect(opened.status).toBe(201)
    const session = opened.json.grant.session
    cmms('WR10011').reply(200, workRequest('WR10011', 'Closed'))
    const renewed = await post(alice, `/v1/sessions/${session.id}/renew`, { ttlSeconds: 1800 })
    expect(renewed.status).toBe(403)
    expect(renewed.json.reasons).toContain('ticket WR10011 is closed; access needs an open ticket')
    expect((await broker.ctx.store.sessions.get(session.id))!.expiresAt).toBe(session.expiresAt)
  })
})

describe('the poll of a system without a batch call', () => {
  it('ends the session of a closed ticket although another ticket\'s answer cannot be read; that one stays, and the log says why', async () => {
    const polled = (id: string, status: string) => nock(POLLED).get(`/wr/${id}`).reply(200, { status, equipment: PLC, assignedTo: 'alice' })
    polled('PW30001', 'Open')
    polled('PW30002', 'Open')
    const unreadable = (await request('PW30001', 'inspect')).json.grant.session.id
    const closed = (await request('PW30002', 'inspect')).json.grant.session.id
    // From now on the poll (every second) reads one state it cannot place, and one closed.
    nock(POLLED).get('/wr/PW30001').reply(200, { status: 'Scheduled', equipment: PLC, assignedTo: 'alice' }).persist()
    polled('PW30002', 'Closed')
    const store = broker.ctx.store
    await waitFor('the closed ticket\'s session to end', async () => (await store.sessions.get(closed))!.state !== 'active')
    expect((await store.sessions.get(closed))!.endReason).toMatch(/ticket/)
    expect((await store.sessions.get(unreadable))!.state).toBe('active')
    expect(brokerLog.join('\n')).toContain('tickets: poll of polled could not check PW30001: its answer\'s state "Scheduled" at status is in neither open_states nor closed_states')
    await post(alice, `/v1/sessions/${unreadable}/revoke`, { reason: 'done' })
  })
})
