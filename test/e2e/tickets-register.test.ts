// The built-in ticket register, every part real: a broker process, CLI processes for each user,
// the keychain, SQLite on disk. A request is refused for an unknown, closed, unassigned or
// other-asset work order, each with its reason; closing the work order ends its session (over
// the API and on the data folder); reopening it opens nothing.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, ROOT, cleanup, introspect, jit, startBroker, type TestBroker } from './harness.js'

const POLICY = join(ROOT, 'test/fixtures/tickets/policy.yaml')
const LINE1 = 'plant-a/line-1/cell-1/plc-01'

let broker: TestBroker
let alice: string
let bob: string
let vic: string
let planner: string
let verifierToken: string

const ask = (ticket: string, asset = PLC) => ['request', '--ticket', ticket, '--asset', asset, '--scope', 'diagnose', '--ttl', '20m', '--reason', 'fault F-217', '--json']

function counts(): Promise<{ requests: number; sessions: number; audit: number }> {
  return broker.withStore(async (store) => {
    const count = async (table: string) => Number((await store.query(`SELECT count(*) AS n FROM ${table}`))[0].n)
    return { requests: await count('requests'), sessions: await count('sessions'), audit: await count('audit') }
  })
}

async function endOf(sessionId: string): Promise<{ type: string; data: Record<string, unknown> } | undefined> {
  const event = (await broker.withStore((store) => store.auditLog.events({ sessionId }))).find((e) => e.type === 'session.revoked')
  return event && { type: event.type, data: event.data as Record<string, unknown> }
}

async function openSession(home: string, ticket: string, asset = PLC): Promise<{ id: string; token: string }> {
  const granted = await jit(ask(ticket, asset), { home })
  expect(granted.code, granted.stderr + granted.stdout).toBe(0)
  const id = granted.json().session.id as string
  const raw = await jit(['credential', id, '--format', 'raw'], { home })
  return { id, token: raw.stdout.trim() }
}

/** Milliseconds until introspection says inactive, polling every 50 ms for at most 10 s. */
async function msUntilInactive(token: string, since: number): Promise<number> {
  while (Date.now() - since < 10_000) {
    if (!(await introspect(broker, token, verifierToken)).active) return Date.now() - since
    await new Promise((r) => setTimeout(r, 50))
  }
  return Infinity
}

beforeAll(async () => {
  broker = await startBroker({ policy: POLICY })
  await broker.addAsset(PLC, { state: 'running', vendors: ['acme-automation'] })
  await broker.addAsset(LINE1)
  ;[alice, bob, vic, planner] = await Promise.all([
    broker.enroll('alice', ['technician']),
    broker.enroll('bob', ['technician']),
    broker.enroll('vic', ['vendor'], 'acme-automation'),
    broker.enroll('pia', ['maintenance-planner']),
  ])
  verifierToken = await broker.addVerifier()
  const file = (id: string, asset: string, who: string[], title = 'work') => jit(['admin', 'ticket', 'add', id, '--asset', asset, ...who, '--title', title, '--json'], { home: planner })
  const filed = await Promise.all([
    file('WO-100001', PLC, ['--assignee', 'alice'], 'Conveyor E42 jam timer'),
    file('WO-100002', PLC, ['--assignee', 'bob']),
    file('WO-100003', LINE1, ['--assignee', 'alice']),
    file('WO-100004', PLC, ['--assignee', 'alice']),
    file('WO-100005', 'plant-a/line-3', ['--assignee', 'alice']),
    file('WO-100006', PLC, ['--org', 'acme-automation']),
  ])
  for (const result of filed) expect(result.code, result.stderr).toBe(0)
  const closed = await jit(['admin', 'ticket', 'close', 'WO-100004', '--reason', 'done last week', '--json'], { home: planner })
  expect(closed.code, closed.stderr).toBe(0)
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, alice, bob, vic, planner)
})

describe('a request is checked against the work order', () => {
  it.each([
    ['unknown', 'WO-199999', PLC, 'ticket WO-199999 does not exist in the workorder ticket system'],
    ['closed', 'WO-100004', PLC, 'ticket WO-100004 is closed; access needs an open ticket'],
    ['assigned to someone else', 'WO-100002', PLC, 'ticket WO-100002 is assigned to bob, not to alice'],
    ['for another asset', 'WO-100003', PLC, `ticket WO-100003 is for ${LINE1}, not ${PLC} (nor its line or cell)`],
  ])('refuses a %s work order with its reason (exit 3)', async (_what, ticket, asset, reason) => {
    const result = await jit(ask(ticket, asset), { home: alice })
    expect(result.code).toBe(3)
    expect(result.json().error.reasons).toEqual([reason])
  })

  it('says every failed check at once, and a person reads them on stderr', async () => {
    const result = await jit(['request', '--ticket', 'WO-100002', '--asset', LINE1, '--scope', 'diagnose', '--ttl', '20m', '--reason', 'r'], { home: alice })
    expect(result.code).toBe(3)
    expect(result.stderr).toContain(`ticket WO-100002 is for ${PLC}, not ${LINE1} (nor its line or cell)`)
    expect(result.stderr).toContain('ticket WO-100002 is assigned to bob, not to alice')
  })

  it('accepts a work order for the line above the asset, and a vendor work order assigned to the organisation', async () => {
    expect((await jit(ask('WO-100005'), { home: alice })).code).toBe(0)
    const vendor = await jit(ask('WO-100006'), { home: vic })
    expect(vendor.code, vendor.stderr).toBe(0)
    const other = await jit(ask('WO-100006'), { home: bob })
    expect(other.json().error.reasons).toEqual(['ticket WO-100006 is assigned to acme-automation, not to bob'])
  })

  it('lets only admins and maintenance planners keep the register', async () => {
    const before = (await counts())
    const result = await jit(['admin', 'ticket', 'add', 'WO-100099', '--asset', PLC, '--assignee', 'alice', '--json'], { home: alice })
    expect(result.code).toBe(3)
    expect(result.json().error.message).toContain('Only admin or maintenance-planner')
    expect((await counts())).toEqual(before)
  })

  it('shows a title with control characters neutralised', async () => {
    const added = await jit(['admin', 'ticket', 'add', 'WO-100010', '--asset', PLC, '--assignee', 'alice', '--title', 'jam\u001b[2J\rtimer', ...broker.storeArgs], {})
    expect(added.code, added.stderr).toBe(0)
    const list = await jit(['admin', 'ticket', 'list', '--state', 'open'], { home: planner })
    expect(list.code).toBe(0)
    expect(list.stdout).toContain('jam\\x1b[2J\\x0dtimer')
    expect(list.stdout).not.toContain('\u001b')
    expect(added.stderr).not.toContain('\u001b')
  })
})

describe('closing the work order ends access', () => {
  it('over the API: the session ends at once, cause ticket-closed', async () => {
    const session = await openSession(alice, 'WO-100001')
    expect((await introspect(broker, session.token, verifierToken)).active).toBe(true)
    const started = Date.now()
    const closed = await jit(['admin', 'ticket', 'close', 'WO-100001', '--reason', 'work done', '--json'], { home: planner })
    expect(closed.code, closed.stderr).toBe(0)
    expect(closed.json().endedSessions).toEqual([session.id])
    expect(await msUntilInactive(session.token, started)).toBeLessThan(10_000)
    expect((await endOf(session.id))?.data).toMatchObject({ cause: 'ticket-closed', ticket: 'WO-100001', via: 'register' })
    const shown = await jit(['sessions', '--json'], { home: alice })
    expect(shown.json().sessions.map((s: { id: string }) => s.id)).not.toContain(session.id)
  })

  it('on the data folder: the running broker ends the session within seconds', async () => {
    const session = await openSession(alice, 'WO-100005', 'plant-a/line-3/cell-2/plc-07')
    const started = Date.now()
    const closed = await jit(['admin', 'ticket', 'close', 'WO-100005', ...broker.storeArgs, '--json'])
    expect(closed.code, closed.stderr).toBe(0)
    expect(await msUntilInactive(session.token, started)).toBeLessThan(10_000)
    expect((await endOf(session.id))?.data).toMatchObject({ cause: 'ticket-closed', ticket: 'WO-100005', via: 'register' })
  })

  it('a reopened work order opens nothing by itself, and a new request for it works again', async () => {
    const before = (await counts())
    const reopened = await jit(['admin', 'ticket', 'reopen', 'WO-100001', '--json'], { home: planner })
    expect(reopened.code, reopened.stderr).toBe(0)
    expect(reopened.json().ticket.state).toBe('open')
    await new Promise((r) => setTimeout(r, 1500)) // a sweep of the broker runs meanwhile
    const after = (await counts())
    expect(after.sessions).toBe(before.sessions)
    expect(after.requests).toBe(before.requests)
    const active = await jit(['sessions', '--json'], { home: alice })
    expect(active.json().sessions.filter((s: { ticket: string }) => s.ticket === 'WO-100001')).toEqual([])
    expect((await jit(ask('WO-100001'), { home: alice })).code).toBe(0)
  })

  it('refuses a folder that is not a broker data folder, and creates nothing there', async () => {
    const result = await jit(['admin', 'ticket', 'list', '--data', join(broker.dataDir, 'nope'), '--json'])
    expect(result.code).toBe(2)
    expect(result.json().error.message).toBe(`${join(broker.dataDir, 'nope')} is not a broker data folder (no broker.db).`)
    expect(existsSync(join(broker.dataDir, 'nope'))).toBe(false)
  })

  it('refuses an unknown ticket to close, and changes nothing', async () => {
    const before = (await counts())
    const result = await jit(['admin', 'ticket', 'close', 'WO-188888', '--json'], { home: planner })
    expect(result.code).toBe(2)
    expect(result.json().error.message).toBe('Ticket WO-188888 was not found.')
    expect((await counts())).toEqual(before)
  })
})
