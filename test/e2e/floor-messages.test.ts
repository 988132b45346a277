// Messages that tell people on the floor what is really the matter: a shift lead's sign-off, a
// TTL over the cap, an empty follow-up ticket, the inventory as a table, and introspection
// called without a token.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'

let broker: TestBroker
let tess: string
let lena: string
const work = tempDir('jit-floor-')

beforeAll(async () => {
  broker = await startBroker()
  tess = await broker.enroll('tess', ['technician'])
  lena = await broker.enroll('lena', ['shift-lead'])
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, tess, lena, work)
})

describe('reviews', () => {
  it('follow_up_ticket: "" means none; a shift lead signing off is told it needs the security role', async () => {
    const file = join(work, 'review.yaml')
    writeFileSync(file, 'what_was_done: reset the drive\nwhy_not_normal_path: night shift\nchanges_to_asset: none\nrollback_needed: false\nfollow_up_ticket: ""\n')
    const opened = await jit(['break-glass', '--asset', PLC, '--reason', 'line down', '--review-file', file, '--json', '--', 'true'], { home: tess })
    expect(opened.code).toBe(0)
    const review = opened.json().review as { id: string; state: string; answers: Record<string, unknown> }
    expect(review.state).toBe('filed')
    expect(review.answers).toEqual({ whatWasDone: 'reset the drive', whyNotNormalPath: 'night shift', changesToAsset: 'none', rollbackNeeded: false })

    const signed = await jit(['review', 'sign-off', review.id, '--json'], { home: lena })
    expect(signed.code).toBe(3)
    expect(signed.json().error.message).toBe(`You cannot sign off review ${review.id}.`)
    expect(signed.json().error.reasons).toEqual(['sign-off needs the security role; you have shift-lead'])
    // The same words for a review that does not exist: the refusal reveals nothing about it.
    const unknown = await jit(['review', 'sign-off', 'rev_nonexistent', '--json'], { home: lena })
    expect(unknown.json().error.reasons).toEqual(['sign-off needs the security role; you have shift-lead'])
  })
})

describe('requests', () => {
  it('a TTL over the cap is reported as over the cap, not as "no rule lets you"', async () => {
    const result = await jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '5h', '--reason', 'long job', '--json'], { home: tess })
    expect(result.code).toBe(3)
    expect(result.json().error.reasons).toEqual([`5h is over the cap for diagnose on ${PLC}: ask for at most 2h`, 'rule line3-diagnose allows at most 2h; 5h was asked'])
  })
})

describe('operator and verifier views', () => {
  it('jit admin asset list is a table; --json has every attribute', async () => {
    await broker.addAsset('plant-a/line-3/cell-2/hmi-02', { state: 'maintenance', owner: 'line3-leads', vendors: ['acme-automation'], endpoint: '10.0.3.12:502' })
    const human = await jit(['admin', 'asset', 'list', ...broker.storeArgs])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/│ asset\s+│ state\s+│ owner\s+│ safety-critical │ vendors\s+│ maintenance windows │ other\s+│/)
    expect(human.stdout).toMatch(/│ plant-a\/line-3\/cell-2\/hmi-02 │ maintenance │ line3-leads │ no\s+│ acme-automation │ -\s+│ endpoint=10\.0\.3\.12:502 │/)
    expect(human.stdout).not.toContain('{"')
    const json = await jit(['admin', 'asset', 'list', ...broker.storeArgs, '--json'])
    expect(json.json().assets).toContainEqual({ path: 'plant-a/line-3/cell-2/hmi-02', attributes: { state: 'maintenance', owner: 'line3-leads', vendors: ['acme-automation'], endpoint: '10.0.3.12:502' } })
  })

  it('introspection without a token says a verifier token is needed, not "is this device enrolled?"', async () => {
    const response = await fetch(`${broker.url}/v1/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=abc' })
    expect(response.status).toBe(401)
    const problem = (await response.json()) as { detail: string }
    expect(problem.detail).toBe('Introspection needs a verifier token: send Authorization: Bearer TOKEN, with a token from jit admin verifier add.')
  })
})
