// The CLI with several brokers (`--broker URL1,URL2`, kept in the profile at enrollment): it asks
// the next one when a broker cannot be reached, never sends a call that changes something twice,
// and a long-poll that loses its broker carries on at the next. A real broker; in front of it a
// loopback TCP relay the test controls stands in for a second broker that fails (a broker that
// dies mid-call looks the same to the client: its connection closes).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addUser, enrollmentCode } from '../../src/broker/admin.js'
import { PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { startRelay } from './broker-relay.js'
import { freePort } from './ssh-server.js'

let broker: TestBroker
let tess: string
let sam: string
let relayPort: number
const brokerPort = () => Number(new URL(broker.url).port)

async function requestCount(): Promise<number> {
  return Number((await broker.withStore((store) => store.query('SELECT count(*) AS n FROM requests')))[0].n)
}

/** Enrolls through the broker list given, as `jit login --broker A,B` does. */
async function enrollWith(brokers: string, name: string, roles: string[]): Promise<string> {
  const code = await broker.withStore(async (store) => {
    await addUser(store, { name, roles, disabled: false })
    return (await enrollmentCode(store, name, 600)).code
  })
  const home = tempDir(`jit-${name}-`)
  const result = await jit(['login', '--broker', brokers, '--json'], { home, env: { JIT_ENROLL_CODE: code } })
  if (result.code !== 0) throw new Error(`login of ${name} failed: ${result.stderr}${result.stdout}`)
  return home
}

const access = ['--ticket', 'WO-104233', '--asset', PLC, '--ttl', '10m', '--reason', 'failover']

beforeAll(async () => {
  broker = await startBroker()
  // Nothing listens on the relay's port yet: enrollment finds the first broker down.
  relayPort = await freePort()
  tess = await enrollWith(`http://127.0.0.1:${relayPort},${broker.url}`, 'tess', ['technician'])
  sam = await enrollWith(broker.url, 'sam', ['shift-lead'])
}, 60_000)

afterAll(async () => {
  await broker?.stop()
  cleanup(...[broker?.dataDir, tess, sam].filter((d): d is string => d !== undefined))
})

describe('a CLI that knows several brokers', () => {
  it('enrolls and works while the first broker is down, and keeps both in the profile', async () => {
    const profile = JSON.parse(readFileSync(join(tess, 'config.json'), 'utf8')).profiles.default
    expect(profile.brokers).toEqual([`http://127.0.0.1:${relayPort}`, broker.url])
    expect(profile.issuer).toBe(broker.url)
    const opened = await jit(['request', ...access, '--scope', 'read', '--json'], { home: tess })
    expect(opened.code, opened.stderr).toBe(0)
    expect(opened.json().session.state).toBe('active')
  })

  it('a read whose answer was lost is asked of the next broker; a request whose answer was lost is not sent again', async () => {
    const relay = await startRelay(brokerPort(), relayPort)
    try {
      relay.drop = (line) => line.startsWith('GET /v1/requests?') || line.startsWith('GET /v1/requests ') || line.startsWith('POST /v1/requests ')
      const listed = await jit(['requests', '--json'], { home: tess })
      expect(listed.code, listed.stderr).toBe(0)
      expect(relay.dropped.filter((l) => l.startsWith('GET'))).toHaveLength(1)

      // A fresh process asks the first broker again: the POST reaches the relay, which drops it.
      const before = (await requestCount())
      const asked = await jit(['request', ...access, '--scope', 'read', '--json'], { home: tess })
      expect(asked.code).toBe(5)
      expect(relay.dropped.filter((l) => l.startsWith('POST'))).toEqual(['POST /v1/requests HTTP/1.1'])
      expect(asked.json().error.message).toBe(`The broker at http://127.0.0.1:${relayPort} stopped answering during POST /requests; it may have been carried out, so jit did not send it to another broker.`)
      // Not carried out twice: the broker behind the relay never saw it, and nobody sent it to the second.
      expect((await requestCount())).toBe(before)
    } finally {
      await relay.kill()
    }
  })

  it('a long-poll whose broker dies carries on at the next broker and gets the approval', async () => {
    const relay = await startRelay(brokerPort(), relayPort)
    try {
      const waiting = jit(['request', ...access, '--scope', 'control', '--timeout', '60s', '--json'], { home: tess })
      // Wait until tess long-polls through the relay.
      const deadline = Date.now() + 20_000
      while (!relay.forwarded.some((l) => /^GET \/v1\/requests\/req_[^?]+\?wait=/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      expect(relay.forwarded.some((l) => /^GET \/v1\/requests\/req_[^?]+\?wait=/.test(l))).toBe(true)
      await relay.kill()
      const pending = (await jit(['requests', '--pending', '--json'], { home: sam })).json().requests as { id: string; user: string; scope: string }[]
      const mine = pending.find((r) => r.user === 'tess')
      expect(mine).toBeDefined()
      const approved = await jit(['approve', mine!.id, '--comment', 'go', '--json'], { home: sam })
      expect(approved.code, approved.stderr).toBe(0)
      const granted = await waiting
      expect(granted.code, granted.stderr).toBe(0)
      expect(granted.json().session.scope).toBe('control')
    } finally {
      await relay.kill()
    }
  })
})
