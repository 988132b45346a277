// fromSnapshot: a long read handed out piece by piece from one snapshot, at the reader's pace.
// A real SQLite store (SqliteAsyncStore over a file in a temp folder).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fromSnapshot } from '../../../../src/broker/store/snapshot-stream.js'
import { SqliteAsyncStore } from '../../../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../../../src/broker/store/sqlite-store.js'

let dir: string
let store: SqliteAsyncStore

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jit-snapshot-stream-'))
  store = new SqliteAsyncStore(new SqliteStore(dir))
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const audit = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => store.audit({ type: 'test.event', actor: 'tess', data: { i } })))

/** Every audit seq, one piece per record, with what the producer did recorded. */
function seqs(trace: string[]) {
  return fromSnapshot<number>(store, async (read, put) => {
    for (const row of await read.query('SELECT seq FROM audit ORDER BY seq')) {
      trace.push(`read ${row.seq}`)
      if (!(await put(Number(row.seq)))) {
        trace.push('stopped')
        return
      }
    }
    trace.push('done')
  })
}

describe('fromSnapshot', () => {
  it('hands out every piece in order, from the snapshot taken when reading began, reading at most one ahead', async () => {
    await audit(4)
    const trace: string[] = []
    const got: number[] = []
    for await (const seq of seqs(trace)) {
      got.push(seq)
      if (seq === 1) await audit(2) // committed after the snapshot began: not seen
      expect(trace.filter((t) => t.startsWith('read')).length).toBeLessThanOrEqual(seq + 1)
    }
    expect(got).toEqual([1, 2, 3, 4])
    expect(trace.at(-1)).toBe('done')
  })

  it('a reader that stops early ends the producer (its put answers false) and the snapshot', async () => {
    await audit(5)
    const trace: string[] = []
    for await (const seq of seqs(trace)) if (seq === 2) break
    expect(trace).toEqual(['read 1', 'read 2', 'read 3', 'stopped'])
  })

  it('a failing read reaches the reader as the error it is', async () => {
    const pieces = fromSnapshot<number>(store, async (read) => {
      await read.query('SELECT seq FROM nowhere')
    })
    await expect(pieces.next()).rejects.toThrow(/no such table/)
  })
})
