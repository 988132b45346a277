// jit audit verify --data on a real store: an edited, deleted or reordered record is found and named,
// also in a log large enough to be checked in ranges on worker threads.
import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { addUser, openStore } from '../../src/broker/admin.js'
import { SqliteAsyncStore } from '../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../src/broker/store/sqlite-store.js'
import { cleanup, jit, tempDir } from './harness.js'

async function storeWithEvents(n: number): Promise<string> {
  const dir = tempDir('jit-audit-')
  const store = new SqliteAsyncStore(new SqliteStore(dir))
  for (let i = 0; i < n; i++) await addUser(store, { name: `user${i}`, roles: ['technician'], disabled: false })
  await store.close()
  return dir
}

function tamper(dir: string, sql: string): void {
  const store = openStore(dir)
  store.db.exec(sql)
  store.close()
}

/** Tampers with the log in dir, then checks jit audit verify names the first bad record (exit 10). */
async function expectTamperingFound(dir: string, c: { sql: string; seq: number; problem: RegExp }): Promise<void> {
  tamper(dir, c.sql)
  const result = await jit(['audit', 'verify', '--data', dir, '--json'], { home: dir })
  expect(result.code).toBe(10)
  const error = result.json().error
  expect(error.code).toBe('audit-chain-broken')
  expect(error.firstBad.seq).toBe(c.seq)
  expect(error.firstBad.problem).toMatch(c.problem)
  expect(error.message).toMatch(new RegExp(`record ${c.seq}`))
  cleanup(dir)
}

describe('jit audit verify --data', () => {
  it('an intact log verifies with exit 0', async () => {
    const dir = await storeWithEvents(5)
    const result = await jit(['audit', 'verify', '--data', dir, '--json'])
    expect(result.code).toBe(0)
    expect(result.json()).toMatchObject({ ok: true, events: 5 })
    cleanup(dir)
  })

  const cases = [
    { name: 'an edited record', sql: `UPDATE audit SET actor = 'mallory' WHERE seq = 3`, seq: 3, problem: /edited/ },
    { name: 'a deleted record', sql: 'DELETE FROM audit WHERE seq = 2', seq: 3, problem: /deleted/ },
    { name: 'reordered records', sql: 'UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = -1', seq: 2, problem: /link|deleted|reordered/ },
  ]
  for (const c of cases) {
    it(`${c.name} is found and named`, async () => {
      await expectTamperingFound(await storeWithEvents(5), c)
    })
  }

  it('a folder without a broker store is bad input (exit 2) and creates nothing', async () => {
    const dir = tempDir()
    const result = await jit(['audit', 'verify', '--data', dir, '--json'])
    expect(result.code).toBe(2)
    expect(readdirSync(dir)).toEqual([])
    cleanup(dir)
  })
})

describe('jit audit verify --data on a log checked in parallel', () => {
  const EVENTS = 60_000
  function largeStore(): string {
    const dir = tempDir('jit-audit-large-')
    const store = openStore(dir)
    store.transaction(() => {
      for (let i = 1; i <= EVENTS; i++) store.appendAudit({ type: 'session.verified', actor: 'verifier:gw', sessionId: `ses_${i >> 2}`, data: { active: true, n: i } })
    })
    store.close()
    return dir
  }

  it('an intact log verifies', async () => {
    const dir = largeStore()
    const result = await jit(['audit', 'verify', '--data', dir, '--json'])
    expect(result.code).toBe(0)
    expect(result.json()).toMatchObject({ ok: true, events: EVENTS })
    cleanup(dir)
  })

  // The log splits into ranges by seq (two or more threads); these break it inside a later
  // range, at the seam between ranges, and in two places, where the first must be named.
  const cases = [
    { name: 'an edited record late in the log', sql: `UPDATE audit SET actor = 'mallory' WHERE seq = 55000`, seq: 55000, problem: /edited/ },
    { name: 'a deleted record at the middle', sql: `DELETE FROM audit WHERE seq = ${EVENTS / 2 + 1}`, seq: EVENTS / 2 + 2, problem: /expected record 30001 here/ },
    { name: 'records swapped across the middle', sql: `UPDATE audit SET seq = -1 WHERE seq = 30000; UPDATE audit SET seq = 30000 WHERE seq = 30001; UPDATE audit SET seq = 30001 WHERE seq = -1`, seq: 30000, problem: /link/ },
    { name: 'a deletion early and an edit late', sql: `DELETE FROM audit WHERE seq = 10; UPDATE audit SET data = '{}' WHERE seq = 50000`, seq: 11, problem: /expected record 10 here/ },
  ]
  for (const c of cases) {
    it(`${c.name} is found and named`, async () => {
      await expectTamperingFound(largeStore(), c)
    })
  }
})
