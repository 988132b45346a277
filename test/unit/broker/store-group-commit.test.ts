// Group commit in the broker's store: the transactions of one event-loop turn share one commit,
// each still all-or-nothing, nothing is visible to another connection (or acknowledged) before
// whenDurable() settles, and the audit chain stays whole across the group.
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyChain } from '../../../src/audit/chain.js'
import { toAuditEvent, type Row } from '../../../src/broker/store/records.js'
import { SqliteAsyncStore } from '../../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../../src/broker/store/sqlite-store.js'
import type { AuditEvent } from '../../../src/wire/api.js'
import { cleanup, tempDir } from '../../e2e/harness.js'

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

function openGrouped(): SqliteStore {
  const dir = tempDir('jit-store-')
  dirs.push(dir)
  const store = new SqliteStore(dir)
  store.enableGroupCommit()
  return store
}

const countOutside = (store: SqliteStore, table = 'audit') => {
  const other = new DatabaseSync(join(store.dataDir, 'broker.db'), { readOnly: true })
  try {
    return (other.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
  } finally {
    other.close()
  }
}

/** The whole log as records, read on the store's own connection. */
function auditRows(store: SqliteStore): AuditEvent[] {
  return (store.db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[]).map(toAuditEvent)
}

describe('store group commit', () => {
  it('commits the transactions of one turn together, and only then settles whenDurable', async () => {
    const store = openGrouped()
    expect(store.whenDurable()).toBeUndefined()
    store.transaction(() => store.appendAudit({ type: 'test.one', actor: 'a' }))
    store.transaction(() => store.appendAudit({ type: 'test.two', actor: 'b' }))
    const durable = store.whenDurable()
    expect(durable).toBeInstanceOf(Promise)
    expect(countOutside(store)).toBe(0)
    await durable
    expect(countOutside(store)).toBe(2)
    expect(store.whenDurable()).toBeUndefined()
    expect(verifyChain(auditRows(store))).toEqual({ ok: true, events: 2 })
    store.close()
  })

  it('rolls back a failing transaction alone and keeps the chain linked', async () => {
    const store = openGrouped()
    store.transaction(() => store.appendAudit({ type: 'test.kept', actor: 'a' }))
    expect(() =>
      store.transaction(() => {
        store.appendAudit({ type: 'test.lost', actor: 'b' })
        throw new Error('policy said no')
      }),
    ).toThrow('policy said no')
    store.transaction(() => store.appendAudit({ type: 'test.after', actor: 'c' }))
    await store.whenDurable()
    const events = auditRows(store)
    expect(events.map((e) => [e.seq, e.type])).toEqual([[1, 'test.kept'], [2, 'test.after']])
    expect(verifyChain(events).ok).toBe(true)
    store.close()
  })

  it('folds single writes (the replay cache) into the group and commits what is open on close', async () => {
    const store = openGrouped()
    const broker = new SqliteAsyncStore(store)
    expect(await broker.seenAssertions.remember('jti-0123456789abcdef', 2_000_000_000)).toBe(true)
    expect(store.whenDurable()).toBeInstanceOf(Promise)
    expect(countOutside(store, 'seen_assertions')).toBe(0)
    expect(await broker.seenAssertions.remember('jti-0123456789abcdef', 2_000_000_000)).toBe(false)
    store.close()
    const reopened = new SqliteAsyncStore(new SqliteStore(store.dataDir))
    expect(await reopened.seenAssertions.remember('jti-0123456789abcdef', 2_000_000_000)).toBe(false)
    await reopened.close()
  })

  it('sees records another process appended between two groups', async () => {
    const store = openGrouped()
    store.transaction(() => store.appendAudit({ type: 'test.broker', actor: 'broker' }))
    await store.whenDurable()
    const admin = new SqliteStore(store.dataDir) // jit admin, writing the same file
    admin.audit({ type: 'test.admin', actor: 'operator' })
    admin.close()
    store.transaction(() => store.appendAudit({ type: 'test.broker-again', actor: 'broker' }))
    await store.whenDurable()
    expect(verifyChain(auditRows(store))).toEqual({ ok: true, events: 3 })
    store.close()
  })
})
