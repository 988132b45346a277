// A request left pending with --no-wait is not a dead end: the requester is told on their next
// command when it is decided, and `jit sessions pickup` collects the approved credential (exit 0),
// reports a denial (exit 4) or that it still waits (exit 8, the request left open).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, startBroker, type TestBroker } from './harness.js'

let broker: TestBroker
let alice: string
let bob: string
let verifierToken: string
const control = ['--ticket', 'WO-104233', '--asset', PLC, '--scope', 'control', '--ttl', '20m']

beforeAll(async () => {
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
  bob = await broker.enroll('bob', ['shift-lead'])
  verifierToken = await broker.addVerifier('gateway-line-3')
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, alice, bob)
})

async function submitPending(reason: string): Promise<string> {
  const pending = await jit(['request', ...control, '--reason', reason, '--no-wait', '--json'], { home: alice })
  expect(pending.code).toBe(8)
  const requestId = pending.json().error.requestId as string
  expect(pending.json().error.nextSteps.join('\n')).toContain(`jit sessions pickup ${requestId}`)
  return requestId
}

const stateOf = async (id: string) => (await broker.withStore((store) => store.requests.get(id)))!.state

describe('jit request --no-wait, then approval', () => {
  it('tells the requester on the next command, and jit sessions pickup collects a working credential', async () => {
    const requestId = await submitPending('recipe change')
    const human = await jit(['request', ...control, '--reason', 'second look', '--no-wait'], { home: alice })
    expect(human.code).toBe(8)
    expect(human.stderr).toMatch(/jit sessions pickup req_/)
    await jit(['cancel', human.stderr.match(/(req_[\w-]+)/)![1]], { home: alice })

    const early = await jit(['sessions', 'pickup', requestId, '--no-wait', '--json'], { home: alice })
    expect(early.code).toBe(8)
    expect(early.json().error.message).toBe(`Request ${requestId} is still waiting for approval.`)
    expect((await stateOf(requestId))).toBe('pending')

    expect((await jit(['approve', requestId, '--comment', 'line stopped'], { home: bob })).code).toBe(0)

    const next = await jit(['whoami', '--json'], { home: alice })
    expect(next.code).toBe(0)
    expect(next.json().user).toBe('alice')
    expect(next.stderr).toContain(`Request ${requestId} (control on ${PLC}, ticket WO-104233) was approved by bob: line stopped. Collect its credential: jit sessions pickup ${requestId}`)
    // Told once.
    expect((await jit(['whoami'], { home: alice })).stderr).not.toContain(requestId)

    const picked = await jit(['sessions', 'pickup', requestId, '--json'], { home: alice })
    expect(picked.code).toBe(0)
    const session = picked.json().session as { id: string; scope: string; requestId: string }
    expect(session).toMatchObject({ scope: 'control', requestId })
    expect(picked.json().cached).toBe(true)
    expect(picked.stdout).not.toMatch(/eyJ/)
    const token = (await jit(['credential', session.id, '--format', 'raw'], { home: alice })).stdout.trim()
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    expect((await jit(['revoke', session.id], { home: alice })).code).toBe(0)

    // Picking up a session that has ended since is refused with exit 4.
    const late = await jit(['sessions', 'pickup', requestId, '--json'], { home: alice })
    expect(late.code).toBe(4)
    expect(late.json().error.message).toMatch(/approved but its session has already ended/)
  })

  it('a denial is told on the next command; pickup exits 4 with who denied and why', async () => {
    const requestId = await submitPending('recipe change')
    expect((await jit(['deny', requestId, '--reason', 'line is running'], { home: bob })).code).toBe(0)
    const next = await jit(['sessions'], { home: alice })
    expect(next.code).toBe(0)
    expect(next.stderr).toContain(`Request ${requestId} (control on ${PLC}, ticket WO-104233) was denied by bob: line is running.`)
    const picked = await jit(['sessions', 'pickup', requestId, '--json'], { home: alice })
    expect(picked.code).toBe(4)
    expect(picked.json().error.message).toBe(`Request ${requestId} was denied by bob: line is running.`)
  })

  it('pickup waits for the decision; giving up leaves the request open (exit 8), not cancelled', async () => {
    const requestId = await submitPending('recipe change')
    const gaveUp = await jit(['sessions', 'pickup', requestId, '--timeout', '2s', '--json'], { home: alice })
    expect(gaveUp.code).toBe(8)
    expect(gaveUp.json().error.message).toMatch(/still pending/)
    expect((await stateOf(requestId))).toBe('pending')

    const waiting = jit(['sessions', 'pickup', requestId, '--json'], { home: alice })
    await new Promise((r) => setTimeout(r, 1500))
    expect((await jit(['approve', requestId], { home: bob })).code).toBe(0)
    const picked = await waiting
    expect(picked.code).toBe(0)
    expect(picked.json().session.requestId).toBe(requestId)
    await jit(['revoke', picked.json().session.id], { home: alice })
  })

  it('only the device that asked can collect it', async () => {
    const requestId = await submitPending('recipe change')
    const other = await jit(['sessions', 'pickup', requestId, '--no-wait', '--json'], { home: bob })
    expect(other.code).toBe(3)
    expect(other.json().error.message).toMatch(/made from another device/)
    await jit(['cancel', requestId], { home: alice })
  })
})
