// The notification outbox when two brokers deliver at once (a duty holder that lost its database
// connection still running, and the broker that took the duty over): each row is claimed before
// it is sent, so a webhook receives it once; a row whose claimer died is due again after the claim.
// Two Notifiers on one real SQLite store stand for the two brokers; the webhook is a real HTTP
// server on loopback that counts what it receives.
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Notifier } from '../../../../src/broker/notifier.js'
import { testContext, type TestContext } from '../test-context.js'

const POLICY = readFileSync(resolve(import.meta.dirname, '../../../fixtures/policy.yaml'), 'utf8')
let t: TestContext
let hook: Server
let received: string[]
let url: string
let now: number

beforeEach(async () => {
  now = Date.parse('2026-06-01T08:00:00Z')
  t = await testContext(POLICY, now)
  received = []
  hook = createServer((request, response) => {
    let body = ''
    request.on('data', (d) => (body += d))
    request.on('end', () => {
      received.push(body)
      response.end('ok')
    })
  })
  await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok))
  url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`
})
afterEach(async () => {
  await new Promise((ok) => hook.close(ok))
  t.close()
})

const broker = () => new Notifier(t.ctx.reviews, [], () => {}, () => now)
const enqueue = (body: string) => t.ctx.reviews.enqueue(JSON.stringify({ url, style: 'json', label: 'json webhook 127.0.0.1', event: 'break-glass.opened', sessionId: 'ses_1' }), body, Math.floor(now / 1000))

describe('the outbox across brokers', () => {
  it('two brokers delivering at once send each row once, and it is marked delivered', async () => {
    await enqueue('{"n":1}')
    await enqueue('{"n":2}')
    const counts = await Promise.all([broker().deliverDue(), broker().deliverDue()])
    expect(counts[0] + counts[1]).toBe(2)
    expect(received.sort()).toEqual(['{"n":1}', '{"n":2}'])
    expect(await t.ctx.reviews.dueNotifications(Math.floor(now / 1000) + 3600)).toEqual([])
    expect(await broker().deliverDue()).toBe(0)
    expect(received).toHaveLength(2)
  })

  it('a row claimed by a broker that died before sending is sent by another once the claim lapses', async () => {
    await enqueue('{"n":1}')
    const [row] = await t.ctx.reviews.dueNotifications(Math.floor(now / 1000))
    expect(await t.ctx.reviews.claim(row, Math.floor(now / 1000) + 15)).toBe(true)
    expect(await t.ctx.reviews.claim(row, Math.floor(now / 1000) + 15)).toBe(false)
    expect(await broker().deliverDue()).toBe(0)
    expect(received).toEqual([])
    now += 15_000
    expect(await broker().deliverDue()).toBe(1)
    expect(received).toEqual(['{"n":1}'])
  })
})
