// The asynchronous store on SQLite (src/broker/store/sqlite-async-store.ts): transactions run one
// at a time although their bodies await, a call made inside a transaction belongs to it, a call
// outside waits for it, and under group commit nothing of a transaction becomes durable before
// its end; each transaction still commits or rolls back whole.
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyChain } from '../../../../src/audit/chain.js'
import { SqliteAsyncStore } from '../../../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../../../src/broker/store/sqlite-store.js'
import { cleanup, tempDir } from '../../../e2e/harness.js'

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

function open(groupCommit: boolean): { store: SqliteAsyncStore; sqlite: SqliteStore } {
  const dir = tempDir('jit-async-store-')
  dirs.push(dir)
  const sqlite = new SqliteStore(dir)
  if (groupCommit) sqlite.enableGroupCommit()
  return { store: new SqliteAsyncStore(sqlite), sqlite }
}

const committedAudit = (sqlite: SqliteStore) => {
  const other = new DatabaseSync(join(sqlite.dataDir, 'broker.db'), { readOnly: true })
  try {
    return (other.prepare('SELECT type FROM audit ORDER BY seq').all() as { type: string }[]).map((row) => row.type)
  } finally {
    other.close()
  }
}

describe('the asynchronous SQLite store', () => {
  for (const groupCommit of [false, true]) {
    const mode = groupCommit ? 'with group commit' : 'without group commit'

    it(`runs transactions one at a time: two check-then-insert bodies never both see "absent" (${mode})`, async () => {
      const { store } = open(groupCommit)
      const claim = (who: string) =>
        store.transaction(async (tx) => {
          const taken = await tx.assets.get('plant-a/line-3/plc-07')
          // Give the other transaction every chance to run in between, were it allowed to.
          await Promise.resolve()
          await new Promise((resolve) => setImmediate(resolve))
          if (taken) return false
          await tx.assets.upsert({ path: 'plant-a/line-3/plc-07', attributes: { holder: who } })
          await tx.appendAudit({ type: 'test.claimed', actor: who })
          return true
        })
      const results = await Promise.all([claim('tess'), claim('tom'), claim('tina')])
      expect(results.filter(Boolean)).toHaveLength(1)
      await store.whenDurable()
      expect((await store.auditLog.events()).map((e) => e.type)).toEqual(['test.claimed'])
      await store.close()
    })

    it(`rolls back a failing transaction whole and keeps the chain linked (${mode})`, async () => {
      const { store } = open(groupCommit)
      await store.transaction((tx) => tx.appendAudit({ type: 'test.kept', actor: 'a' }))
      await expect(
        store.transaction(async (tx) => {
          await tx.appendAudit({ type: 'test.lost', actor: 'b' })
          await tx.users.upsert({ name: 'ghost', roles: ['x'], disabled: false })
          throw new Error('policy said no')
        }),
      ).rejects.toThrow('policy said no')
      await store.transaction((tx) => tx.appendAudit({ type: 'test.after', actor: 'c' }))
      await store.whenDurable()
      const events = await store.auditLog.events()
      expect(events.map((e) => [e.seq, e.type])).toEqual([[1, 'test.kept'], [2, 'test.after']])
      expect(verifyChain(events).ok).toBe(true)
      expect(await store.users.get('ghost')).toBeUndefined()
      await store.close()
    })
  }

  it('a call inside a transaction, also from a function it awaits, is part of it; a call outside waits until it ends', async () => {
    const { store } = open(false)
    const order: string[] = []
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const transaction = store.transaction(async (tx) => {
      await tx.users.upsert({ name: 'tess', roles: ['technician'], disabled: false })
      // The store itself, not tx: still this transaction (a helper that takes ctx.store).
      order.push(`inside sees ${(await store.users.get('tess'))?.name}`)
      await held
      order.push('transaction ends')
    })
    const outside = store.users.get('tess').then((user) => order.push(`outside sees ${user?.name} after the end`))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(order).toEqual(['inside sees tess'])
    release()
    await Promise.all([transaction, outside])
    expect(order).toEqual(['inside sees tess', 'transaction ends', 'outside sees tess after the end'])
    await store.close()
  })

  it('under group commit, a transaction that spans several turns is never committed in the middle', async () => {
    const { store, sqlite } = open(true)
    await store.transaction((tx) => tx.appendAudit({ type: 'test.first', actor: 'a' }))
    await store.whenDurable()
    expect(committedAudit(sqlite)).toEqual(['test.first'])
    const failing = store.transaction(async (tx) => {
      await tx.appendAudit({ type: 'test.half', actor: 'b' })
      // Several event-loop turns: the group's commit comes due meanwhile and must wait.
      await new Promise((resolve) => setTimeout(resolve, 30))
      expect(committedAudit(sqlite)).toEqual(['test.first'])
      throw new Error('second half failed')
    })
    await expect(failing).rejects.toThrow('second half failed')
    await store.whenDurable()
    expect(committedAudit(sqlite)).toEqual(['test.first'])
    await store.transaction((tx) => tx.appendAudit({ type: 'test.next', actor: 'c' }))
    await store.whenDurable()
    expect(committedAudit(sqlite)).toEqual(['test.first', 'test.next'])
    expect(verifyChain(await store.auditLog.events()).ok).toBe(true)
    await store.close()
  })
})

describe('a transaction begun inside another', () => {
  it('rolls back alone, and the chain goes on from the last record that stayed', async () => {
    const { store } = open(true)
    await store.transaction(async (tx) => {
      await tx.appendAudit({ type: 'test.outer', actor: 'a' })
      await expect(
        store.transaction(async (inner) => {
          await inner.appendAudit({ type: 'test.inner-lost', actor: 'b' })
          throw new Error('inner failed')
        }),
      ).rejects.toThrow('inner failed')
      await tx.appendAudit({ type: 'test.outer-again', actor: 'a' })
    })
    await store.whenDurable()
    const events = await store.auditLog.events()
    expect(events.map((e) => e.type)).toEqual(['test.outer', 'test.outer-again'])
    expect(verifyChain(events).ok).toBe(true)
    await store.close()
  })
})
