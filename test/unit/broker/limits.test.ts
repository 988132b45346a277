// Limits everywhere a caller could exhaust or confuse something: repeated query parameters,
// strict bodies (unknown keys and wrong types refused, the field named), public keys with extra
// members, a slow body, pending requests per user, and the data folder's file modes.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { buildHttpApi } from '../../../src/broker/http.js'
import { makeEnrollmentCode } from '../../../src/broker/enrollment.js'
import { createRequest } from '../../../src/broker/requests.js'
import { SqliteStore } from '../../../src/broker/store/sqlite-store.js'
import { MAX_PENDING_PER_USER } from '../../../src/wire/limits.js'
import { testContext, type TestContext } from './test-context.js'

const POLICY = `
version: 1
rules:
  - { name: ctl, who: { roles: [technician] }, assets: ['plant-a/**'], scopes: [control], max_ttl: 1h, approval: { count: 1, from_roles: [shift-lead] } }
`
let t: TestContext
let ctx: BrokerContext
let tess: Actor

beforeEach(async () => {
  t = await testContext(POLICY)
  ctx = t.ctx
  tess = await t.actor('tess', ['technician'])
  await t.ctx.store.assets.upsert({ path: 'plant-a/line-3/plc-07', attributes: {} })
})
afterEach(() => t.close())

const api = () => buildHttpApi(ctx, () => {})
const problem = (response: { statusCode: number; body: string }) => ({ status: response.statusCode, detail: (JSON.parse(response.body) as { detail: string }).detail })

describe('limits', () => {
  it('a query parameter given twice is a 400 naming it, not a 500', async () => {
    const app = api()
    const response = await app.inject({ method: 'GET', url: '/v1/audit?since=a&since=b' })
    expect(problem(response)).toEqual({ status: 400, detail: 'Query parameter "since" is given more than once.' })
    await app.close()
  })

  it('bodies are strict: an unknown key or a wrong type is refused with the field named, never dropped or coerced', async () => {
    const app = api()
    const body = { ticket: 'WO-1', asset: 'plant-a/line-3/plc-07', scope: 'control', ttlSeconds: 600, reason: 'r' }
    const post = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/requests', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
    expect(problem(await post({ ...body, approver: 'me' }))).toEqual({ status: 400, detail: 'The request is not valid: unknown field "approver".' })
    expect(problem(await post({ ...body, ttlSeconds: '600' }))).toEqual({ status: 400, detail: 'The request is not valid: ttlSeconds must be integer.' })
    expect(problem(await post({ ...body, reason: undefined }))).toEqual({ status: 400, detail: 'The request is not valid: missing field "reason".' })
    const cancel = await app.inject({ method: 'POST', url: '/v1/requests/req_x/cancel', headers: { 'content-type': 'application/json' }, payload: '{"force":true}' })
    expect(problem(cancel).status).toBe(400)
    await app.close()
  })

  it('enrollment refuses a public key with any member beyond kty, crv and x (a private d above all), and spends no code', async () => {
    const app = api()
    const { code } = await makeEnrollmentCode(ctx.store, 'tess', 600, 'test')
    const publicKey = { kty: 'OKP', crv: 'Ed25519', x: 'B'.repeat(43) }
    for (const extra of [{ d: 'C'.repeat(43) }, { kid: 'mine' }, { use: 'sig' }]) {
      const response = await app.inject({ method: 'POST', url: '/v1/enroll', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ code, deviceName: 'x', publicKey: { ...publicKey, ...extra } }) })
      expect(problem(response)).toEqual({ status: 400, detail: `The request is not valid: unknown field "${Object.keys(extra)[0]}" in publicKey.` })
    }
    const enrolled = await app.inject({ method: 'POST', url: '/v1/enroll', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ code, deviceName: 'x', publicKey }) })
    expect(enrolled.statusCode).toBe(201)
    expect((await t.ctx.store.devices.get(JSON.parse(enrolled.body).deviceId))!.publicJwk).toEqual(publicKey)
    await app.close()
  })

  it('a body that trickles in is cut off by the request timeout', async () => {
    const app = buildHttpApi(ctx, () => {}, undefined, { headersTimeoutMs: 500, requestTimeoutMs: 800, idleTimeoutMs: 5000, checkIntervalMs: 100 })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as { port: number }
    const socket = connect(port, '127.0.0.1')
    const started = Date.now()
    let answer = ''
    const closed = new Promise<void>((done) => socket.on('close', () => done()))
    socket.on('data', (d) => (answer += d))
    socket.write('POST /v1/enroll HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"code":')
    const trickle = setInterval(() => socket.write(' '), 100)
    await closed
    clearInterval(trickle)
    // Generous bound: the point is that it ends, not how fast.
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
    await app.close()
  })

  it(`a user may have at most ${MAX_PENDING_PER_USER} requests pending; the next one is a clear refusal`, async () => {
    const ask = async () => await createRequest(ctx, tess, { ticket: 'WO-1', asset: 'plant-a/line-3/plc-07', scope: 'control', ttlSeconds: 600, reason: 'r' })
    for (let i = 0; i < MAX_PENDING_PER_USER; i++) expect((await ask()).status).toBe(202)
    await expect(ask()).rejects.toThrow(new RegExp(`already have ${MAX_PENDING_PER_USER} requests waiting`))
    expect((await t.ctx.store.requests.list({ user: 'tess', state: 'pending', limit: 1000 }))).toHaveLength(MAX_PENDING_PER_USER)
  })
})

describe('the data folder', () => {
  it('is 0700 and its database files 0600, also when the folder already existed with 0755', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'jit-mode-')), 'data')
    mkdirSync(dir, { mode: 0o755 })
    const store = new SqliteStore(dir)
    store.audit({ type: 'x', actor: 'y' })
    try {
      expect(statSync(dir).mode & 0o777).toBe(0o700)
      for (const file of ['broker.db', 'broker.db-wal', 'broker.db-shm']) expect((statSync(join(dir, file)).mode & 0o777).toString(8), file).toBe('600')
    } finally {
      store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
