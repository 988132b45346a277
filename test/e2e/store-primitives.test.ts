// What the feature modules and several brokers build on, on both stores: portable SQL (`?`, one
// statement read by SQLite and PostgreSQL), snapshots that see only what is committed, signals
// sent only when a transaction commits (and, on PostgreSQL, to the other brokers), and duties
// held by one broker at a time and taken over when it dies.
import { describe, expect, it } from 'vitest'
import type { PostgresStore } from '../../src/broker/store/postgres/postgres-store.js'
import { flag } from '../../src/broker/store/records.js'
import type { Store } from '../../src/broker/store/store.js'
import { storesForTests } from './stores-for-tests.js'

const stores = storesForTests()
const postgres = (url: string): Promise<PostgresStore> => stores.postgres(url)
const sqlite = () => stores.sqlite({ groupCommit: true })

const signalled = (store: Store, channel: string) => {
  let count = 0
  const ready = store.onSignal(channel, () => count++)
  return { ready, count: () => count }
}

const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe.each([
  ['SQLite', async () => sqlite()],
  ['PostgreSQL', async () => postgres(stores.server().createDatabase(`primitives_${Math.random().toString(36).slice(2, 8)}`))],
])('%s store', (_name, open) => {
  it('reads and writes portable SQL, with integers as numbers and comparisons read by flag()', async () => {
    const store = await open()
    const now = 1_800_000_000.5
    expect(await store.execute('INSERT INTO outbox (target, body, next_attempt_at) VALUES (?,?,?)', ['role:security', 'it\'s ?', 1_800_000_000])).toBe(1)
    const rows = await store.query('SELECT id, body, next_attempt_at, (next_attempt_at <= CAST(? AS NUMERIC)) AS due FROM outbox WHERE target = ?', [now, 'role:security'])
    expect(rows).toHaveLength(1)
    expect(rows[0].body).toBe('it\'s ?')
    expect(rows[0].next_attempt_at).toBe(1_800_000_000)
    expect(typeof rows[0].id).toBe('number')
    expect(flag(rows[0].due)).toBe(true)
    expect(await store.execute('UPDATE outbox SET attempts = attempts + 1 WHERE target = ?', ['nobody'])).toBe(0)
  })

  it('a snapshot sees only what is committed; a signal is sent when its transaction commits, never when it rolls back', async () => {
    const store = await open()
    const wake = signalled(store, 'ends')
    await wake.ready
    let seenInside = -1
    await store.transaction(async (tx) => {
      await tx.execute('INSERT INTO gateways (name, address, cert_sha256, announced_at) VALUES (?,?,?,?)', ['gw1', '127.0.0.1:1', 'x', 'now'])
      await tx.signal('ends')
      seenInside = (await store.snapshot((read) => read.query('SELECT name FROM gateways'))).length
      expect(wake.count()).toBe(0)
    })
    expect(seenInside).toBe(0)
    await until(() => wake.count() === 1)
    expect((await store.snapshot((read) => read.query('SELECT name FROM gateways'))).length).toBe(1)
    await expect(
      store.transaction(async (tx) => {
        await tx.signal('ends')
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(wake.count()).toBe(1)
  })
})

describe('several brokers on one PostgreSQL database', () => {
  it('a signal on one broker wakes the listeners of another', async () => {
    const url = stores.server().createDatabase('signals')
    const [a, b] = [await postgres(url), await postgres(url)]
    const wake = signalled(b, 'ends')
    await wake.ready
    await a.transaction(async (tx) => tx.signal('ends'))
    await until(() => wake.count() === 1)
  })

  it('a duty is held by one broker at a time and taken over when that broker is gone', async () => {
    const url = stores.server().createDatabase('duties')
    const [a, b] = [await postgres(url), await postgres(url)]
    expect(await a.holdsDuty('sweeper')).toBe(true)
    expect(await b.holdsDuty('sweeper')).toBe(false)
    expect(await b.holdsDuty('outbox')).toBe(true)
    expect(await a.holdsDuty('sweeper')).toBe(true)
    // The broker's connections end as they would when its process dies.
    stores.server().psql(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid() AND granted AND objid = hashtext('sweeper')::oid`, 'duties')
    let taken = false
    for (let i = 0; i < 50 && !taken; i++) {
      taken = await b.holdsDuty('sweeper')
      if (!taken) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(taken).toBe(true)
    expect(await a.holdsDuty('sweeper')).toBe(false)
  })

  it('duties asked for at once by two parts of one broker (the sweeper, the ticket watch) are held, by one connection', async () => {
    const url = stores.server().createDatabase('duties_at_once')
    const [a, b] = [await postgres(url), await postgres(url)]
    expect(await Promise.all([a.holdsDuty('sweeper'), a.holdsDuty('ticket-watch'), a.holdsDuty('sweeper')])).toEqual([true, true, true])
    expect(await a.holdsDuty('sweeper')).toBe(true)
    expect(await b.holdsDuty('sweeper')).toBe(false)
    expect(stores.server().psql("SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", 'duties_at_once')).toBe('1')
  })
})

describe('durability on PostgreSQL', () => {
  it('commits asynchronously and makes them durable with one barrier before a reply: whenDurable() is pending after a commit and settles with the mark written', async () => {
    const url = stores.server().createDatabase('durability')
    const store = await postgres(url)
    expect(store.whenDurable()).toBeUndefined()
    await store.transaction(async (tx) => tx.appendAudit({ type: 'test.commit', actor: 't' }))
    const first = store.whenDurable()
    expect(first).toBeInstanceOf(Promise)
    // Replies waiting at the same time share one barrier.
    expect(store.whenDurable()).toBe(first)
    await first
    expect(store.whenDurable()).toBeUndefined()
    expect(Number(stores.server().psql('SELECT count(*) FROM jit_durability_marks', 'durability'))).toBe(1)
    // A read outside a transaction commits nothing; a write outside one does.
    await store.users.get('nobody')
    expect(store.whenDurable()).toBeUndefined()
    await store.seenAssertions.remember('jti-1', 2_000_000_000)
    await store.whenDurable()
    expect(store.whenDurable()).toBeUndefined()
    await store.close()
    expect(Number(stores.server().psql('SELECT count(*) FROM jit_durability_marks', 'durability'))).toBe(0)
  })
})

describe('transactions of several brokers on PostgreSQL', () => {
  /** The gate's pattern: look for a holder of the asset, then open a session if there is none. */
  const openIfFree = (store: Store, asset: string, user: string, pause: () => Promise<void> = async () => {}) =>
    store.transaction(async (tx) => {
      const holders = await tx.sessions.list({ asset, activeOnly: true })
      await pause()
      if (holders.length > 0) return false
      const id = `ses-${user}-${Math.random().toString(36).slice(2, 10)}`
      const now = Math.floor(Date.now() / 1000)
      await tx.sessions.insert({ id, requestId: `req-${id}`, user, deviceId: 'dev', asset, ticket: 'T-1', scope: 'program', kind: 'standard', jti: `jti-${id}`, issuedAtEpoch: now, expiresAtEpoch: now + 600, issuedAt: '', expiresAt: '', state: 'active', cacheAllowed: false })
      await tx.appendAudit({ type: 'session.issued', actor: user, sessionId: id })
      return true
    }, { user, asset })

  it('scoped on one asset, two brokers racing check-then-insert never both win (30 rounds)', async () => {
    const url = stores.server().createDatabase('scoped_race')
    const [a, b] = [await postgres(url), await postgres(url)]
    for (let round = 0; round < 30; round++) {
      const asset = `plant/line/plc-${round}`
      const wins = await Promise.all([openIfFree(a, asset, 'alice'), openIfFree(b, asset, 'bob'), openIfFree(a, asset, 'carol')])
      expect(wins.filter(Boolean)).toHaveLength(1)
    }
  })

  it('scoped on other users and assets, they run side by side; an unscoped one waits for them', async () => {
    const url = stores.server().createDatabase('scoped_side')
    const [a, b] = [await postgres(url), await postgres(url)]
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let entered!: () => void
    const inside = new Promise<void>((resolve) => (entered = resolve))
    const slow = openIfFree(a, 'plant/a/plc', 'alice', async () => {
      entered()
      await held
    })
    await inside
    // Another user on another asset commits while alice's transaction is still open.
    expect(await openIfFree(b, 'plant/b/plc', 'bob')).toBe(true)
    // A transaction without a scope (an operator's, the sweeper's) waits for alice's.
    let unscopedDone = false
    const unscoped = b.transaction(async (tx) => tx.appendAudit({ type: 'op', actor: 'op' })).then(() => (unscopedDone = true))
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(unscopedDone).toBe(false)
    release()
    expect(await slow).toBe(true)
    await unscoped
    const { verifyChain } = await import('../../src/audit/chain.js')
    expect(verifyChain(await a.auditLog.events())).toEqual({ ok: true, events: 3 })
  })
})
