// Three broker processes on one real PostgreSQL database, sharing their key files (one --data
// folder) and one issuer, as a plant runs them behind a load balancer. What one broker does, the
// others see at once: a request made on one is approved on another and collected on the third;
// a revocation on one makes introspection inactive on the other two; one approval sent to two
// brokers at once counts once; a user disabled through the database is refused by every broker;
// two brokers racing for one
// exclusive scope never grant it twice; a broker SIGKILLed under load loses no acknowledged
// grant and leaves an audit chain that verifies.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addUser, disableUser, enrollmentCode } from '../../src/broker/admin.js'
import type { Store } from '../../src/broker/store/store.js'
import { verifyChain } from '../../src/audit/chain.js'
import { AuthError, PolicyDeniedError } from '../../src/errors.js'
import type { AccessRequest, RequestResult } from '../../src/wire/api.js'
import { CliContext } from '../../src/cli/context.js'
import { login } from '../../src/cli/device/login.js'
import { MemoryKeychain } from '../../src/cli/keychain/keychain.js'
import { submitRequest } from '../../src/cli/sessions/request-access.js'
import { PLC, cleanup, introspect, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { startPostgres, type TestPostgres } from './postgres.js'
import { ON_POSTGRES, freshDatabase, openTestStore, type TestDatabase } from './test-store.js'

const ISSUER = 'http://jit.plant.test'
const PRESS = 'plant-a/line-5/cell-1/press-01'
const POLICY = `version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
rules:
  - name: line3-read
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [read]
    max_ttl: 2h
  - name: line3-control
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [control]
    max_ttl: 1h
    approval: { count: 1, from_roles: [shift-lead] }
    exclusive: true
  - name: press-control
    who: { roles: [technician] }
    assets: ['plant-a/line-5/**']
    scopes: [control]
    max_ttl: 1h
    exclusive: true
`

let own: TestPostgres | undefined
let database: TestDatabase
let brokers: TestBroker[] = []
const scratch = tempDir('jit-several-')
const keys = tempDir('jit-several-keys-')
const homes: string[] = []
let verifierToken: string
const keychain = new MemoryKeychain()
const previousHome = process.env.JIT_HOME

const onDatabase = async <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
  const store = await openTestStore(keys, database)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

const brokerList = () => brokers.map((b) => b.url).join(',')

/** A user enrolled with all three brokers (`jit login --broker B1,B2,B3`), in a config folder of their own. */
async function enrollCli(name: string, roles: string[]): Promise<string> {
  const code = await onDatabase(async (store) => {
    await addUser(store, { name, roles, disabled: false })
    return (await enrollmentCode(store, name, 600)).code
  })
  const home = tempDir(`jit-${name}-`)
  homes.push(home)
  const result = await jit(['login', '--broker', brokerList(), '--json'], { home, env: { JIT_ENROLL_CODE: code } })
  expect(result.code, result.stderr).toBe(0)
  return home
}

/** The same, in this process (no CLI start-up per call): a profile whose calls go to `via` only. */
async function enrollHere(name: string, via: TestBroker, roles = ['technician']): Promise<CliContext> {
  const code = await onDatabase(async (store) => {
    await addUser(store, { name, roles, disabled: false })
    return (await enrollmentCode(store, name, 600)).code
  })
  await login(new CliContext({ profile: name }, keychain), brokerList(), code, `${name}-laptop`)
  return new CliContext({ profile: name, broker: via.url }, keychain)
}

const ask = (scope: string, asset: string, reason: string) => ({ ticket: 'WO-104233', asset, scope, ttl: '10m', reason })

beforeAll(async () => {
  process.env.JIT_HOME = join(scratch, 'cli')
  if (ON_POSTGRES) database = await freshDatabase()
  else {
    own = await startPostgres()
    const passwordFile = join(scratch, 'db-password')
    writeFileSync(passwordFile, `${own.password}\n`, { mode: 0o600 })
    database = { url: own.createDatabase('several_brokers'), passwordFile }
  }
  const policy = join(scratch, 'policy.yaml')
  writeFileSync(policy, POLICY)
  const start = () => startBroker({ dataDir: keys, database, policy, args: ['--issuer', ISSUER] })
  // The first makes the key files; the others read them.
  brokers = [await start()]
  brokers.push(...(await Promise.all([start(), start()])))
  await brokers[0].addAsset(PRESS)
  verifierToken = await brokers[0].addVerifier('gateway-line-3')
}, 120_000)

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.stop()))
  await own?.stop()
  if (previousHome === undefined) delete process.env.JIT_HOME
  else process.env.JIT_HOME = previousHome
  cleanup(scratch, keys, ...homes)
})

describe('three brokers on one PostgreSQL database', () => {
  it('a request made on broker 1, approved on broker 2, is collected on broker 3', async () => {
    const tess = await enrollCli('tess', ['technician'])
    const sam = await enrollCli('sam', ['shift-lead'])
    const on = (i: number) => ({ JIT_BROKER: brokers[i].url })

    const pending = await jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'control', '--ttl', '10m', '--reason', 'recipe change', '--no-wait', '--json'], { home: tess, env: on(0) })
    expect(pending.code, pending.stderr).toBe(8)
    const requestId = pending.json().error.requestId as string
    const approved = await jit(['approve', requestId, '--comment', 'line stopped', '--json'], { home: sam, env: on(1) })
    expect(approved.code, approved.stderr).toBe(0)
    expect(approved.json().request.state).toBe('approved')
    const picked = await jit(['sessions', 'pickup', requestId, '--json'], { home: tess, env: on(2) })
    expect(picked.code, picked.stderr).toBe(0)
    const session = picked.json().session as { id: string; requestId: string }
    expect(session.requestId).toBe(requestId)

    // The credential names the one issuer and every broker honours it.
    const token = (await jit(['credential', session.id, '--format', 'raw'], { home: tess, env: on(2) })).stdout.trim()
    for (const broker of brokers) expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    expect((await jit(['revoke', session.id], { home: tess, env: on(0) })).code).toBe(0)
  })

  it('a revocation on one broker makes introspection inactive on the other two at once', async () => {
    const olga = await enrollHere('olga', brokers[1])
    const { grant } = await submitRequest(olga, { ...ask('read', PLC, 'revoke fan-out'), delivery: 'memory' })
    expect(grant).toBeDefined()
    for (const broker of brokers) expect((await introspect(broker, grant!.credential, verifierToken)).active).toBe(true)
    await (await olga.client()).post(`/sessions/${grant!.session.id}/revoke`, { reason: 'done' })
    // No wait between the revocation's answer and the checks: the database is the one truth.
    const answers = await Promise.all([brokers[0], brokers[2]].map((broker) => introspect(broker, grant!.credential, verifierToken)))
    expect(answers.map((a) => a.active)).toEqual([false, false])
  })

  it('one approval sent to two brokers at once counts once (15 rounds); a user disabled through one database is refused by every broker at once', async () => {
    const tara = await enrollHere('tara', brokers[0])
    const lee = [await enrollHere('lee', brokers[0], ['shift-lead']), new CliContext({ profile: 'lee', broker: brokers[1].url }, keychain)]
    let last = ''
    for (let round = 0; round < 15; round++) {
      const asked = await (await tara.client()).post<RequestResult>('/requests', { ticket: 'WO-104233', asset: PLC, scope: 'control', ttlSeconds: 600, reason: `approval race ${round}` })
      expect(asked.request.state).toBe('pending')
      const id = asked.request.id
      const approvals = await Promise.allSettled(lee.map(async (cli) => (await cli.client()).post<RequestResult>(`/requests/${id}/approve`, { comment: 'ok' })))
      expect(approvals.filter((a) => a.status === 'fulfilled'), `round ${round}`).toHaveLength(1)
      const request = (await onDatabase((store) => store.requests.get(id))) as AccessRequest
      expect(request.state).toBe('approved')
      expect(request.approvals.map((a) => a.by)).toEqual(['lee'])
      const opened = (await onDatabase((store) => store.sessions.list({ user: 'tara' }))).filter((s) => s.requestId === id)
      expect(opened, `round ${round}`).toHaveLength(1)
      expect((await onDatabase((store) => store.auditLog.events({ requestId: id }))).filter((e) => e.type === 'request.approval')).toHaveLength(1)
      last = opened[0].id
      if (round < 14) await (await tara.client()).post(`/sessions/${last}/revoke`, { reason: `round ${round} done` })
    }

    // Offboarding through the database (jit admin user disable --database …): her session ends and no broker lets her in.
    await onDatabase((store) => disableUser(store, 'tara', 'left the contractor'))
    expect((await onDatabase((store) => store.sessions.get(last)))?.state).toBe('revoked')
    for (const broker of brokers) {
      const cli = new CliContext({ profile: 'tara', broker: broker.url }, keychain)
      await expect(submitRequest(cli, ask('read', PLC, 'after offboarding'))).rejects.toBeInstanceOf(AuthError)
    }
  }, 120_000)

  it('two brokers racing for one exclusive scope, 50 rounds: one holder at a time, never two', async () => {
    const racers = [await enrollHere('rita', brokers[0]), await enrollHere('ron', brokers[1])]
    const holders = () => onDatabase((store) => store.sessions.list({ asset: PRESS, activeOnly: true }))
    for (let round = 0; round < 50; round++) {
      const outcomes = await Promise.allSettled(racers.map((cli) => submitRequest(cli, { ...ask('control', PRESS, `race ${round}`), delivery: 'memory' })))
      const won = outcomes.filter((o): o is PromiseFulfilledResult<Awaited<ReturnType<typeof submitRequest>>> => o.status === 'fulfilled' && o.value.grant !== undefined)
      const lost = outcomes.filter((o) => o.status === 'rejected')
      expect(won, `round ${round}`).toHaveLength(1)
      expect(lost, `round ${round}`).toHaveLength(1)
      const refusal = (lost[0] as PromiseRejectedResult).reason
      expect(refusal).toBeInstanceOf(PolicyDeniedError)
      expect((refusal as PolicyDeniedError).reasons.join(' ')).toMatch(/control on plant-a\/line-5\/cell-1\/press-01 is exclusive and held by (rita|ron)/)
      const active = await holders()
      expect(active.map((s) => s.id), `round ${round}`).toEqual([won[0].value.grant!.session.id])
      const winner = racers[outcomes.indexOf(won[0])]
      await (await winner.client()).post(`/sessions/${won[0].value.grant!.session.id}/revoke`, { reason: `round ${round} done` })
    }
    expect(await holders()).toEqual([])
  }, 300_000)

  it('a broker SIGKILLed under load loses no acknowledged grant; the audit chain verifies', async () => {
    const victim = brokers[2]
    const workers = await Promise.all(['kai', 'kim', 'kit', 'kip'].map((name) => enrollHere(name, victim)))
    const acknowledged: string[] = []
    let stop = false
    const load = workers.map(async (cli, w) => {
      for (let i = 0; !stop; i++) {
        try {
          const { grant } = await submitRequest(cli, ask('read', PLC, `load ${w}.${i}`))
          acknowledged.push(grant!.session.id)
        } catch {
          return // the broker is gone
        }
      }
    })
    while (acknowledged.length < 20) await new Promise((r) => setTimeout(r, 20))
    victim.process.kill('SIGKILL')
    await victim.stop()
    stop = true
    await Promise.all(load)
    brokers = brokers.filter((b) => b !== victim)

    const stored = new Set((await onDatabase((store) => store.sessions.list({}))).map((s) => s.id))
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([])
    const events = await onDatabase((store) => store.auditLog.events())
    const verified = verifyChain(events)
    expect(verified, JSON.stringify(verified.firstBad)).toMatchObject({ ok: true, events: events.length })
    // The other brokers carry on, on the same chain.
    const after = await enrollHere('lea', brokers[0])
    expect((await submitRequest(after, ask('read', PLC, 'after the crash'))).grant).toBeDefined()
    expect(verifyChain(await onDatabase((store) => store.auditLog.events())).ok).toBe(true)
  }, 120_000)

  it('a broker that has run its duties for a while stops on SIGTERM (no database connection left behind)', async () => {
    // Its sweeps, outbox and ticket watch ask for their duties at once; a second duty connection
    // made by that race was never closed and kept the process alive after SIGTERM.
    await new Promise((r) => setTimeout(r, 3000))
    const last = brokers.pop()!
    const exited = await Promise.race([last.stop().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))])
    if (!exited) last.process.kill('SIGKILL')
    expect(exited).toBe(true)
    expect(last.process.exitCode).toBe(0)
  }, 30_000)
})
