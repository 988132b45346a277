// Break-glass notifications. Chat and SIEM webhooks are third-party services that cannot run
// here, so they are mocked at the HTTP layer with nock; everything else is real (the broker runs
// in this process so nock sees its outgoing calls; the device talks to it over loopback).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nock from 'nock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addAsset, addUser, enrollmentCode } from '../../src/broker/admin.js'
import { startBroker, type RunningBroker } from '../../src/broker/server.js'
import { CliContext } from '../../src/cli/context.js'
import { login } from '../../src/cli/device/login.js'
import { MemoryKeychain } from '../../src/cli/keychain/keychain.js'
import type { BreakGlassResult } from '../../src/wire/api.js'
import { FIXTURE_POLICY, PLC } from './harness.js'
import { sqliteOf } from '../../src/broker/store/sqlite-async-store.js'

let dir: string
let broker: RunningBroker
let tess: CliContext

beforeAll(async () => {
  nock.disableNetConnect()
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost)/)
  dir = mkdtempSync(join(tmpdir(), 'jit-notify-'))
  process.env.JIT_HOME = join(dir, 'cli')
  broker = await startBroker({
    dataDir: join(dir, 'broker'),
    policyFile: FIXTURE_POLICY,
    host: '127.0.0.1',
    port: 0,
    webhooks: [
      { url: 'https://hooks.chat.example/services/T1/B2', style: 'chat' },
      { url: 'https://siem.plant-a.example/ingest/jit', style: 'json' },
    ],
    log: () => {},
  })
  await addUser(broker.ctx.store, { name: 'tess', roles: ['technician'], disabled: false })
  await addAsset(broker.ctx.store, { path: PLC, attributes: {} })
  const keychain = new MemoryKeychain()
  await login(new CliContext({ profile: 'tess' }, keychain), broker.url, (await enrollmentCode(broker.ctx.store, 'tess', 60)).code)
  tess = new CliContext({ profile: 'tess' }, keychain)
})

afterAll(async () => {
  await tess.close()
  await broker.close()
  nock.cleanAll()
  nock.enableNetConnect()
  rmSync(dir, { recursive: true, force: true })
})

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
}

describe('notifications', () => {
  it('a failing webhook never blocks access; it is retried until delivered; drills say they are drills', async () => {
    const chatBodies: { text: string }[] = []
    const siemBodies: Record<string, unknown>[] = []
    // The chat hook fails twice, then accepts; the SIEM hook accepts at once.
    const chat = nock('https://hooks.chat.example')
      .post('/services/T1/B2').reply(500, 'down')
      .post('/services/T1/B2').replyWithError('socket hang up')
      .post('/services/T1/B2', (body) => (chatBodies.push(body), true)).reply(200, 'ok')
    const siem = nock('https://siem.plant-a.example').post('/ingest/jit', (body) => (siemBodies.push(body), true)).reply(204)

    const client = await tess.client()
    const started = Date.now()
    const opened = await client.post<BreakGlassResult>('/break-glass', { asset: PLC, reason: 'line down', drill: true })
    expect(Date.now() - started).toBeLessThan(2000)
    expect(opened.grant.credential.split('.')).toHaveLength(3)

    await until(() => siem.isDone(), 5000)
    expect(siem.isDone()).toBe(true)
    expect(siemBodies[0]).toMatchObject({ event: 'break-glass.opened', drill: true, user: 'tess', asset: PLC, notify: ['role:security', 'mailto:ot-security@plant-a.example'] })

    // Backoff is 1 s, then 2 s; the sweeper delivers what is due every second.
    await until(() => chat.isDone(), 8000)
    expect(chat.isDone()).toBe(true)
    expect(chatBodies[0].text).toMatch(/\[DRILL\] Break-glass access opened by \*tess\*/)

    const outbox = sqliteOf(broker.ctx.store).sqlite.db.prepare('SELECT target, attempts, delivered_at, last_error FROM outbox ORDER BY id').all() as { target: string; attempts: number; delivered_at: string | null; last_error: string | null }[]
    const chatRow = outbox.find((row) => row.target.includes('hooks.chat'))!
    expect(chatRow.attempts).toBe(3)
    expect(chatRow.delivered_at).not.toBeNull()
    expect(chatRow.last_error).toMatch(/socket hang up|HTTP 500/)

    // Every attempt and its result is in the audit trail, hooks named by host only (a hook URL can carry a secret).
    const trail = (await broker.ctx.store.auditLog.events({ sessionId: opened.grant.session.id })).filter((e) => e.type.startsWith('notification.'))
    const chatTrail = trail.filter((e) => e.data.target === 'chat webhook https://hooks.chat.example/…').map((e) => [e.type, e.data.attempt ?? null])
    expect(chatTrail).toEqual([['notification.queued', null], ['notification.failed', 1], ['notification.failed', 2], ['notification.delivered', 3]])
    expect(trail.filter((e) => e.data.target === 'json webhook https://siem.plant-a.example/…').map((e) => e.type)).toEqual(['notification.queued', 'notification.delivered'])
    expect(trail.filter((e) => e.type === 'notification.undeliverable').map((e) => e.data.target)).toEqual(['role:security', 'mailto:ot-security@plant-a.example'])
    expect(JSON.stringify(trail)).not.toContain('/services/T1/B2')
    expect(opened.notifications).toEqual([
      { target: 'role:security', status: 'undeliverable', via: 'jit reviews', detail: 'no user has the security role' },
      { target: 'mailto:ot-security@plant-a.example', status: 'undeliverable', detail: expect.stringMatching(/sends no mail/) },
      { target: 'chat webhook https://hooks.chat.example/…', status: 'queued', via: 'webhook' },
      { target: 'json webhook https://siem.plant-a.example/…', status: 'queued', via: 'webhook' },
    ])

    // The end of the session is announced too.
    const ended = nock('https://siem.plant-a.example').post('/ingest/jit', (body) => body.event === 'break-glass.ended' && body.reviewId === opened.review.id).reply(204)
    const endedChat = nock('https://hooks.chat.example').post('/services/T1/B2', (body) => /ended/.test(body.text)).reply(200)
    await client.post(`/sessions/${opened.grant.session.id}/revoke`, { reason: 'done' })
    await until(() => ended.isDone() && endedChat.isDone(), 5000)
    expect(ended.isDone()).toBe(true)
    expect(endedChat.isDone()).toBe(true)
  })
})
