// The quickstart's tour of the policy, with real requests by real enrolled devices: a vendor
// refused outside its contract, control refused outside the maintenance window, a stopped line
// that needs two approvers, and a second `control` refused while one is held.
import { setAssetState } from '../broker/admin.js'
import type { RunningBroker } from '../broker/server.js'
import type { CliContext } from '../cli/context.js'
import { JitError, PolicyDeniedError } from '../errors.js'
import { submitRequest } from '../cli/sessions/request-access.js'
import type { RequestResult, SessionInfo } from '../wire/api.js'
import { DEMO_TOUR } from './demo-plant.js'

export interface PolicyTour {
  vendorOutsideContract: string[]
  vendorUnderContract: string
  outsideWindow: string[]
  twoApprovers: { rule?: string; approvers: string[]; state: string }
  exclusive: { holder: string; until: string; reasons: string[] }
}

type Say = Record<'ok' | 'info' | 'warn' | 'step', (text: string) => void>
export interface TourPeople {
  tess: CliContext
  sam: CliContext
  vic: CliContext
  olga: CliContext
  tom: CliContext
}

/** The refusal a request meets; the tour fails loudly if the policy let it through. */
export async function refused(cli: CliContext, params: Parameters<typeof submitRequest>[1]): Promise<PolicyDeniedError> {
  try {
    await submitRequest(cli, params)
  } catch (error) {
    if (error instanceof PolicyDeniedError) return error
    throw error
  }
  throw new JitError(`The demo policy allowed ${params.scope} on ${params.asset}; it should have refused.`, ['This is a bug in jit; please report the output.'])
}

export async function policyTour(broker: RunningBroker, people: TourPeople, say: Say): Promise<PolicyTour> {
  const ask = { ttl: '20m', reason: 'quickstart policy tour' }
  const { vic, tess, tom } = DEMO_TOUR.tickets
  const show = (reasons: string[]) => reasons.filter((r) => !r.includes('deny by default')).forEach((r) => say.info(`  refused: ${r}`))

  say.info('vic (ACME, a vendor) asks to diagnose the robot; ACME’s contract names only plc-07')
  const vendor = await refused(people.vic, { ...ask, ticket: vic, asset: DEMO_TOUR.outsideContract, scope: 'diagnose' })
  show(vendor.reasons)
  // Vendors may not cache (cache: false): only a wrapper that holds the credential in memory asks.
  const contracted = await submitRequest(people.vic, { ...ask, ticket: vic, asset: DEMO_TOUR.underContract, scope: 'diagnose', delivery: 'memory' })
  say.ok(`On plc-07, under contract: ${contracted.request.state}, waiting for a shift lead (rule ${contracted.request.rule}); vic cancels it`)
  await (await people.vic.client()).post(`/requests/${contracted.request.id}/cancel`, {})

  say.info("tess asks for control of line 1's PLC, whose maintenance window is hours away")
  const outside = await refused(people.tess, { ...ask, ticket: tess, asset: DEMO_TOUR.line1Plc, scope: 'control' })
  show(outside.reasons)

  await setAssetState(broker.ctx.store, DEMO_TOUR.line1Plc, 'stopped', 'quickstart: line 1 stopped for the tour')
  say.info('The shift records line 1 as stopped (jit admin asset set-state … stopped); tess asks again')
  const pending: RequestResult = await submitRequest(people.tess, { ...ask, ticket: tess, asset: DEMO_TOUR.line1Plc, scope: 'control' })
  say.info(`→ ${pending.request.state}: ${pending.request.approvalsNeeded} approvals from ${pending.request.approverRoles.join(' or ')} (rule ${pending.request.rule})`)
  const id = pending.request.id
  await (await people.sam.client()).post(`/requests/${id}/approve`, { comment: 'line 1 is down, go ahead' })
  const done = await (await people.olga.client()).post<RequestResult>(`/requests/${id}/approve`, { comment: 'owner agrees' })
  const approvers = done.request.approvals.map((a) => a.by)
  say.ok(`Approved by ${approvers.join(' and ')}; tess holds control of plc-01`)

  say.info('tom, another technician, asks for control of the same PLC while tess holds it')
  const second = await refused(people.tom, { ...ask, ticket: tom, asset: DEMO_TOUR.line1Plc, scope: 'control' })
  show(second.reasons)
  const holder = String(second.details.holder ?? '')
  const until = String(second.details.until ?? '')

  const session = (await (await people.tess.client()).get<{ sessions: SessionInfo[] }>('/sessions')).sessions.find((s) => s.requestId === id)
  if (session) await (await people.tess.client()).post(`/sessions/${session.id}/revoke`, { reason: 'quickstart tour done' })
  await setAssetState(broker.ctx.store, DEMO_TOUR.line1Plc, 'running', 'quickstart: tour done')
  say.ok('tess revoked her session; line 1 is running again')

  return {
    vendorOutsideContract: vendor.reasons,
    vendorUnderContract: contracted.request.state,
    outsideWindow: outside.reasons,
    twoApprovers: { rule: done.request.rule, approvers, state: done.request.state },
    exclusive: { holder, until, reasons: second.reasons },
  }
}
