// The ticket check on every path that opens or extends a session, with the built-in register on
// a real SQLite store: the last approval checks the ticket again (it may have closed while the
// request waited), a renewal checks it too, a path that did not look the ticket up fails closed,
// and a ticket id with query syntax never reaches a ticket system.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../../../src/broker/api-error.js'
import type { Actor } from '../../../../src/broker/context.js'
import { renewSession } from '../../../../src/broker/renewal.js'
import { approveRequest, createRequest } from '../../../../src/broker/requests.js'
import { checkTicket, ticketOfRequest, ticketOfSession } from '../../../../src/broker/tickets/check.js'
import { addRegisterTicket, setRegisterTicketState } from '../../../../src/broker/tickets/register-ops.js'
import { testContext, type TestContext } from '../test-context.js'

const PLC = 'plant-a/line-3/cell-2/plc-07'
const POLICY = `version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-.+$' }
  systems:
    workorder: { connector: builtin }
rules:
  - name: diagnose
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [diagnose]
    max_ttl: 2h
  - name: control
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [control]
    max_ttl: 1h
    approval: { count: 1, from_roles: [shift-lead] }
`

let t: TestContext
let alice: Actor
let lead: Actor

async function refusal(fn: () => Promise<unknown>): Promise<ApiError> {
  try {
    await fn()
  } catch (error) {
    if (error instanceof ApiError) return error
    throw error
  }
  throw new Error('expected a refusal')
}

beforeEach(async () => {
  t = await testContext(POLICY)
  await t.ctx.store.assets.upsert({ path: PLC, attributes: { state: 'running' } })
  alice = await t.actor('alice', ['technician'])
  lead = await t.actor('lena', ['shift-lead'])
  await addRegisterTicket(t.ctx.store, { id: 'WO-1', asset: PLC, assignee: 'alice' }, 'test')
})

afterEach(() => t.close())

const body = (scope: string, ticket = 'WO-1') => ({ ticket, asset: PLC, scope, ttlSeconds: 1800, reason: 'r' })

describe('the ticket on every path', () => {
  it('the last approval checks again: a work order closed while the request waited is refused, and nothing opens', async () => {
    const { result } = await createRequest(t.ctx, alice, body('control'), await checkTicket(t.ctx, alice.user, 'WO-1', PLC))
    expect(result.request.state).toBe('pending')
    await setRegisterTicketState({ ctx: t.ctx }, 'WO-1', 'closed', 'planner')
    const verdict = await ticketOfRequest(t.ctx, result.request.id)
    const refused = await refusal(async () => await approveRequest(t.ctx, lead, result.request.id, 'ok', verdict))
    expect(refused.extra.reasons).toEqual(['ticket WO-1 is closed; access needs an open ticket'])
    expect((await t.ctx.store.requests.get(result.request.id))!.state).toBe('pending')
    expect((await t.ctx.store.sessions.list({ user: 'alice' }))).toEqual([])
  })

  it('a renewal checks the ticket: refused once its work order no longer names the requester', async () => {
    const { result } = await createRequest(t.ctx, alice, body('diagnose'), await checkTicket(t.ctx, alice.user, 'WO-1', PLC))
    const id = result.grant!.session.id
    expect((await renewSession(t.ctx, alice, id, 1800, await ticketOfSession(t.ctx, alice, id))).expiresIn).toBeCloseTo(1800, -1)
    // The planner hands the work to someone else (an edit the register keeps as its row).
    t.sqlite.db.prepare("UPDATE ticket_register SET assignee = 'bob' WHERE id = 'WO-1'").run()
    const verdict = await ticketOfSession(t.ctx, alice, id)
    const refused = await refusal(async () => await renewSession(t.ctx, alice, id, 1800, verdict))
    expect(refused.extra.reasons).toEqual([expect.stringMatching(/^renewing for 30m would make session /), 'ticket WO-1 is assigned to bob, not to alice'])
  })

  it('a request looks its ticket up itself, after its input passed; a renewal whose caller did not look it up fails closed', async () => {
    const notAsked = 'the workorder ticket system could not be asked about WO-1: it was not asked on this path; rule diagnose refuses until it can be checked'
    const { result } = await createRequest(t.ctx, alice, body('diagnose'))
    expect(result.grant?.session.ticket).toBe('WO-1')
    expect((await refusal(async () => await renewSession(t.ctx, alice, result.grant!.session.id, 1800))).extra.reasons).toEqual([expect.stringMatching(/^renewing for 30m/), notAsked])
  })

  it('an id with query syntax is refused before any ticket system is asked', async () => {
    expect(await checkTicket(t.ctx, alice.user, 'WO-1^ORactive=true', PLC)).toEqual({
      kind: 'checked',
      system: 'workorder',
      ticket: 'WO-1^ORactive=true',
      failures: ['"WO-1^ORactive=true" is not a ticket id the workorder ticket system can look up (letters, digits, . _ -)'],
    })
  })
})
