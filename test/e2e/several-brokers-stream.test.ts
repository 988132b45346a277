// Two real broker processes on one real PostgreSQL database. A session ended on broker A (by its
// expiry sweeper, the duty A holds) reaches a gateway long-polling broker B's revocation stream
// within a second, also when B's listening connection is cut (the backstop poll and the new
// listener cover it); the expiry sweeper runs on one broker at a time, and when its holder is
// SIGKILLed the survivor takes the duty over: a session that expires after the kill is ended once,
// by broker B. The sessions and the verifier are written straight into the database (the admin
// commands on PostgreSQL are another part of this work); every session end goes through the brokers.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifierTokenHash } from '../../src/broker/offboarding.js'
import { databaseLogin } from '../../src/broker/store/postgres/connection.js'
import { PostgresStore } from '../../src/broker/store/postgres/postgres-store.js'
import type { SessionRecord } from '../../src/broker/store/records.js'
import type { RevocationBatch } from '../../src/wire/gateway.js'
import { cleanup, startBroker, tempDir, type TestBroker } from './harness.js'
import { startPostgres, type TestPostgres } from './postgres.js'

/** The duty locks' first key (postgres-store.ts): pg_locks shows it as classid. */
const DUTY_LOCK_SPACE = 0x6a6974

let pg: TestPostgres
let store: PostgresStore
let a: TestBroker
let b: TestBroker
const dataDir = tempDir('jit-two-brokers-')
const verifierToken = `jitv_${randomBytes(24).toString('base64url')}`

/** Advisory locks held for a duty, as PostgreSQL sees them: the backend pids holding it. */
const dutyHolders = (name: string) =>
  pg.psql(`SELECT string_agg(pid::text, ',') FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ${DUTY_LOCK_SPACE} AND objid = hashtext('${name}')::oid`, 'stream').split(',').filter(Boolean)

async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A session that expires `inSeconds` from now, written as the broker writes one. */
async function sessionExpiringIn(inSeconds: number): Promise<string> {
  const id = `ses_${randomBytes(8).toString('hex')}`
  const issued = Math.floor(Date.now() / 1000)
  const expires = Math.ceil(Date.now() / 1000 + inSeconds)
  const record: SessionRecord = {
    id, requestId: `req_${id}`, user: 'alice', deviceId: 'dev_alice', asset: 'plant-a/line-3/cell-2/plc-07', ticket: 'WO-104233', scope: 'diagnose', kind: 'standard',
    jti: `jti_${id}`, issuedAtEpoch: issued, expiresAtEpoch: expires, issuedAt: new Date(issued * 1000).toISOString(), expiresAt: new Date(expires * 1000).toISOString(), state: 'active', cacheAllowed: false,
  }
  await store.sessions.insert(record)
  return id
}

async function revocations(broker: TestBroker, query: string): Promise<RevocationBatch> {
  const response = await fetch(`${broker.url}/v1/gateway/revocations?${query}`, { headers: { authorization: `Bearer ${verifierToken}` } })
  expect(response.status).toBe(200)
  return (await response.json()) as RevocationBatch
}

/** Long-polls broker's stream from its head until `sessionId`'s end arrives; when it arrived, in wall-clock ms. */
async function endArrives(broker: TestBroker, since: number, sessionId: string): Promise<{ arrivedAt: number; end: RevocationBatch['ends'][number] }> {
  for (;;) {
    const batch = await revocations(broker, `since=${since}&wait=20`)
    const arrivedAt = Date.now()
    const end = batch.ends.find((e) => e.sessionId === sessionId)
    if (end) return { arrivedAt, end }
    since = batch.head
  }
}

const auditTypes = async (sessionId: string) => (await store.auditLog.events({ sessionId })).map((e) => e.type)

beforeAll(async () => {
  pg = await startPostgres()
  const url = pg.createDatabase('stream')
  const env = { JIT_DATABASE_PASSWORD: pg.password }
  // A first, alone: it makes the key files in the shared --data folder and takes the duties.
  a = await startBroker({ dataDir, args: ['--database', url], env })
  await until('broker A to take the expiry sweeper duty', async () => dutyHolders('expiry-sweeper').length === 1)
  b = await startBroker({ dataDir, args: ['--database', url], env })
  store = await PostgresStore.open(databaseLogin(url, { env }))
  await store.verifiers.add('gw-b', verifierTokenHash(verifierToken))
}, 60_000)

afterAll(async () => {
  await a?.stop()
  await b?.stop()
  await store?.close()
  await pg?.stop()
  cleanup(dataDir)
})

describe('two brokers on one PostgreSQL database', () => {
  it('a session ended on broker A reaches a gateway long-polling broker B within a second, every time', async () => {
    const holder = dutyHolders('expiry-sweeper')
    const latencies: number[] = []
    for (let round = 0; round < 5; round++) {
      const { head } = await revocations(b, '')
      const id = await sessionExpiringIn(1)
      const { arrivedAt, end } = await endArrives(b, head, id)
      expect(end).toMatchObject({ sessionId: id, cause: 'expired', asset: 'plant-a/line-3/cell-2/plc-07' })
      // `at` is written in the ending transaction, before its commit: the whole path is counted.
      latencies.push(arrivedAt - Date.parse(end.at))
      expect(await auditTypes(id)).toEqual(['session.expired'])
    }
    // Ended by A all along: the sweeper duty never moved while both ran.
    expect(dutyHolders('expiry-sweeper')).toEqual(holder)
    for (const ms of latencies) expect(ms).toBeLessThan(1000)
    process.stdout.write(`revocation A → B stream, ms: ${latencies.join(' ')}\n`)
  }, 60_000)

  it('when broker B loses its listening connection, an end on A still reaches B\'s gateway within a second (the table is the truth)', async () => {
    const listening = () => pg.psql("SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = 'stream' AND query = 'LISTEN jit_session_ends'", 'stream').split(',').filter(Boolean)
    const before = listening()
    expect(before.length).toBeGreaterThan(0)
    pg.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (${before.join(',')})`, 'stream')
    const { head } = await revocations(b, '')
    const id = await sessionExpiringIn(1)
    const { arrivedAt, end } = await endArrives(b, head, id)
    expect(arrivedAt - Date.parse(end.at)).toBeLessThan(1000)
    // And it listens again, on a new connection.
    await until('broker B to listen again', async () => listening().some((pid) => !before.includes(pid)))
  }, 60_000)

  it('the expiry sweeper runs on one broker; SIGKILL its holder and the other takes it over: a later expiry is ended once, by the survivor', async () => {
    const before = dutyHolders('expiry-sweeper')
    expect(before).toHaveLength(1)
    a.process.kill('SIGKILL')
    await a.stop()
    const { head } = await revocations(b, '')
    const id = await sessionExpiringIn(2)
    const { end } = await endArrives(b, head, id)
    expect(end).toMatchObject({ sessionId: id, cause: 'expired' })
    const after = dutyHolders('expiry-sweeper')
    expect(after).toHaveLength(1)
    expect(after).not.toEqual(before)
    expect((await store.sessions.get(id))!.state).toBe('expired')
    expect(await auditTypes(id)).toEqual(['session.expired'])
    // The other duties came over with it (the heartbeat reaper's is asked for only when a session falls silent).
    for (const duty of ['review-flagger', 'notification-outbox', 'audit-checkpoint', 'ticket-watch']) {
      await until(`broker B to take ${duty}`, async () => dutyHolders(duty).join() === after.join())
    }
  }, 60_000)
})
