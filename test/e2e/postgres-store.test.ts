// The broker's store on a real PostgreSQL (Debian's packages, started by ./postgres.ts): the same
// Store interface the SQLite store implements, and what several brokers on one database rely on.
// Two PostgresStore instances (two pools) stand for two brokers: their audit appends never fork
// the chain, and the replay cache is shared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/audit/chain.js'
import { databaseLogin } from '../../src/broker/store/postgres/connection.js'
import { DatabaseAuthError } from '../../src/broker/store/postgres/errors.js'
import { PostgresStore } from '../../src/broker/store/postgres/postgres-store.js'
import type { SessionRecord } from '../../src/broker/store/records.js'
import { startPostgres, type TestPostgres } from './postgres.js'

let server: TestPostgres
const stores: PostgresStore[] = []

async function open(url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open(databaseLogin(url, { env: { JIT_DATABASE_PASSWORD: server.password } }))
  stores.push(store)
  return store
}

function session(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Math.floor(Date.now() / 1000)
  return {
    id, requestId: `req-${id}`, user: 'alice', deviceId: 'dev-1', asset: 'plant/line1/plc', ticket: 'T-1', scope: 'read', kind: 'standard',
    jti: `jti-${id}`, issuedAtEpoch: now, expiresAtEpoch: now + 600, issuedAt: '', expiresAt: '', state: 'active', cacheAllowed: false, ...overrides,
  }
}

beforeAll(async () => {
  server = await startPostgres()
})

afterAll(async () => {
  for (const store of stores) await store.close().catch(() => {})
  await server?.stop()
})

describe('PostgresStore', () => {
  it('keeps users, devices, enrollment codes, requests and sessions as the SQLite store does', async () => {
    const store = await open(server.createDatabase('roundtrip'))
    await store.users.upsert({ name: 'alice', roles: ['maintainer'], org: 'acme', disabled: false })
    expect(await store.users.get('alice')).toEqual({ name: 'alice', roles: ['maintainer'], org: 'acme', disabled: false })
    await store.enrollmentCodes.add('hash-1', 'alice', Math.floor(Date.now() / 1000) + 60)
    expect(await store.enrollmentCodes.consume('hash-1', Math.floor(Date.now() / 1000))).toBe('alice')
    expect(await store.enrollmentCodes.consume('hash-1', Math.floor(Date.now() / 1000))).toBeUndefined()
    const jwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: 'abc' }
    await store.devices.add({ id: 'dev-1', user: 'alice', name: 'laptop', publicJwk: jwk, jkt: 'jkt-1', createdAt: '2026-01-01T00:00:00.000Z' })
    expect(await store.devices.jkt('dev-1')).toBe('jkt-1')
    expect(await store.devices.revoke('dev-1')).toBe(true)
    expect(await store.devices.revoke('dev-1')).toBe(false)
    expect((await store.devices.list('alice'))[0].revokedAt).toBeDefined()

    await store.sessions.insert(session('s1', { heartbeatAtMs: undefined }))
    const stored = await store.sessions.get('s1')
    expect(stored).toMatchObject({ id: 's1', state: 'active', cacheAllowed: false, user: 'alice' })
    expect(typeof stored!.expiresAtEpoch).toBe('number')
    expect(await store.sessions.recordHeartbeat('s1', Date.now() - 10_000)).toBe(true)
    expect((await store.sessions.get('s1'))?.heartbeatAtMs).toBeLessThan(Date.now())
    expect((await store.sessions.byJti('jti-s1'))?.heartbeatAtMs).toBeTypeOf('number')
    expect(await store.sessions.end('s1', 'revoked', 'bob', 'done')).toBe(true)
    expect(await store.sessions.end('s1', 'revoked', 'bob', 'again')).toBe(false)
    expect((await store.sessions.get('s1'))?.state).toBe('revoked')
    expect(await store.sessions.list({ user: 'alice', activeOnly: true })).toEqual([])
  })

  it('commits a transaction with its audit records, or nothing of it; a nested one rolls back alone', async () => {
    const store = await open(server.createDatabase('transactions'))
    await expect(
      store.transaction(async (tx) => {
        await tx.assets.upsert({ path: 'plant/a', attributes: {} })
        await tx.appendAudit({ type: 'asset.added', actor: 'op' })
        throw new Error('refused half-way')
      }),
    ).rejects.toThrow('refused half-way')
    expect(await store.assets.get('plant/a')).toBeUndefined()
    expect(await store.auditLog.events()).toEqual([])

    await store.transaction(async (tx) => {
      await tx.assets.upsert({ path: 'plant/b', attributes: { zone: 1 } })
      await tx.appendAudit({ type: 'asset.added', actor: 'op' })
      await tx.transaction(async (inner) => {
        await inner.assets.upsert({ path: 'plant/c', attributes: {} })
        await inner.appendAudit({ type: 'asset.added', actor: 'op' })
        throw new Error('inner refused')
      }).catch(() => {})
      await tx.appendAudit({ type: 'after-inner', actor: 'op' })
    })
    expect(await store.assets.get('plant/b')).toEqual({ path: 'plant/b', attributes: { zone: 1 } })
    expect(await store.assets.get('plant/c')).toBeUndefined()
    const events = await store.auditLog.events()
    expect(events.map((e) => e.type)).toEqual(['asset.added', 'after-inner'])
    expect(verifyChain(events).ok).toBe(true)
  })

  it('runs a call made on the store (not on tx) inside a running transaction on its client', async () => {
    const url = server.createDatabase('inside')
    const store = await open(url)
    const other = await open(url)
    let seenOutside: unknown = 'not read'
    await store.transaction(async () => {
      await store.assets.upsert({ path: 'plant/x', attributes: {} })
      // Inside: the same transaction sees its own write.
      expect(await store.assets.get('plant/x')).toBeDefined()
      // Another broker does not see it before the commit.
      seenOutside = await other.assets.get('plant/x')
    })
    expect(seenOutside).toBeUndefined()
    expect(await other.assets.get('plant/x')).toBeDefined()
  })

  it('two brokers appending at once never fork the audit chain', async () => {
    const database = server.createDatabase('chain')
    const a = await open(database)
    const b = await open(database)
    const rounds = 40
    const append = (store: PostgresStore, name: string) =>
      Array.from({ length: rounds }, (_, i) =>
        store.transaction(async (tx) => {
          await tx.appendAudit({ type: 'test.append', actor: name, data: { i } })
          await tx.appendAudit({ type: 'test.append.second', actor: name, data: { i } })
        }),
      )
    await Promise.all([...append(a, 'a'), ...append(b, 'b'), ...Array.from({ length: rounds }, (_, i) => b.audit({ type: 'test.single', actor: 'b', data: { i } }))])
    const events = await a.auditLog.events()
    expect(events).toHaveLength(rounds * 5)
    expect(verifyChain(events)).toEqual({ ok: true, events: rounds * 5 })
    // A transaction's records stay next to each other: the head lock is held to its commit.
    for (const [index, event] of events.entries()) {
      if (event.type === 'test.append') expect(events[index + 1]).toMatchObject({ type: 'test.append.second', actor: event.actor, data: event.data })
    }
  })

  it('shares the replay cache: an assertion id seen by one broker is a replay on the other', async () => {
    const database = server.createDatabase('replay')
    const a = await open(database)
    const b = await open(database)
    const expires = Math.floor(Date.now() / 1000) + 60
    expect(await a.seenAssertions.remember('jti-1', expires)).toBe(true)
    expect(await b.seenAssertions.remember('jti-1', expires)).toBe(false)
    const raced = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).seenAssertions.remember('jti-race', expires)))
    expect(raced.filter(Boolean)).toHaveLength(1)
    await b.seenAssertions.forgetExpired(expires + 1)
    expect(await a.seenAssertions.remember('jti-1', expires)).toBe(true)
  })

  it('refuses a wrong password with the login error, never opening a store', async () => {
    const database = server.createDatabase('refused')
    await expect(PostgresStore.open(databaseLogin(database, { env: { JIT_DATABASE_PASSWORD: 'wrong-password' } }))).rejects.toBeInstanceOf(DatabaseAuthError)
  })
})
