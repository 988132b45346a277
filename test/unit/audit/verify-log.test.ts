// The fast verifier of a store's audit log must give verifyChain's verdict (the first bad record,
// the same problem) for any log and any split into ranges; the data the store writes must be the
// canonical JSON its hash covers; logs written before (JSON.stringify data) must still verify.
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { GENESIS_HASH, hashEvent, verifyChain } from '../../../src/audit/chain.js'
import { checkRange, combineRanges, openLog, planRanges, verifyAuditLog } from '../../../src/audit/verify-log.js'
import { verifyInBatches } from '../../../src/broker/audit-walk.js'
import { toAuditEvent, type Row } from '../../../src/broker/store/records.js'
import { SqliteStore } from '../../../src/broker/store/sqlite-store.js'
import { canonicalJson } from '../../../src/util/canonical-json.js'
import type { AuditEvent, AuditVerifyResult } from '../../../src/wire/api.js'
import { cleanup, tempDir } from '../../e2e/harness.js'

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

/** The whole log as records, read straight from the file (these properties run synchronously). */
function auditRows(store: SqliteStore): AuditEvent[] {
  return (store.db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[]).map(toAuditEvent)
}

function freshStore(): SqliteStore {
  const dir = tempDir('jit-audit-log-')
  dirs.push(dir)
  return new SqliteStore(dir)
}

/** The log checked in `parts` ranges, the way the worker threads split it. */
function checkInParts(store: SqliteStore, parts: number): AuditVerifyResult {
  const db = openLog(store.file)
  try {
    const { lo, hi } = db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM audit').get() as { lo: number | null; hi: number | null }
    if (lo === null || hi === null) return combineRanges([])
    return combineRanges(planRanges(lo, hi, parts).map(([after, upTo]) => checkRange(db, after, upTo)))
  } finally {
    db.close()
  }
}

/** Records as earlier brokers stored them: data as JSON.stringify (keys in insertion order). */
function appendLegacy(store: SqliteStore, count: number): void {
  const last = store.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined
  let prevHash = last?.hash ?? GENESIS_HASH
  for (let seq = (last?.seq ?? 0) + 1, n = 0; n < count; seq++, n++) {
    const body = { seq, at: `2025-06-0${(seq % 9) + 1}T10:00:00.000Z`, type: 'request.created', severity: 'info' as const, actor: 'tess', requestId: `req_${seq}`, data: { ticket: 'WO-104233', asset: 'plant-a/line-3', ttlSeconds: 1800, nested: { z: 1, a: [2, { y: 'é"\\' }] } } }
    const hash = hashEvent(prevHash, body)
    store.db.prepare('INSERT INTO audit (seq, at, type, severity, actor, session_id, request_id, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)').run(
      seq, body.at, body.type, body.severity, body.actor, null, body.requestId, JSON.stringify(body.data), prevHash, hash,
    )
    prevHash = hash
  }
}

const special = fc.constantFrom('a', 'Z', '"', '\\', '\n', '\u0001', '\u007f', 'é', '\u2028', '😀')
const eventOf = (text: fc.Arbitrary<string>) => fc.record(
  { type: text, actor: text, severity: fc.constantFrom('info' as const, 'high' as const), sessionId: fc.option(text, { nil: undefined }), requestId: fc.option(text, { nil: undefined }), data: fc.dictionary(text, fc.jsonValue()) },
  { requiredKeys: ['type', 'actor', 'data'] },
)
/** Strings SQLite keeps as they are. */
const event = eventOf(fc.string({ unit: fc.oneof(special, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })) }))
/** Any UTF-16, lone surrogates too: SQLite stores those as U+FFFD, so their records fail verification, alike in both verifiers. */
const anyEvent = eventOf(fc.string({ unit: fc.oneof(special, fc.nat({ max: 0xffff }).map((code) => String.fromCharCode(code))) }))

/** Ways to break a log of n records, as SQL; verifyChain is the judge of what each one breaks. */
const tampering = (n: number) => fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1, max: n }).map((seq) => `UPDATE audit SET actor = actor || 'x' WHERE seq = ${seq}`),
  fc.integer({ min: 1, max: n }).map((seq) => `UPDATE audit SET data = '{"edited":true}' WHERE seq = ${seq}`),
  fc.integer({ min: 1, max: n }).map((seq) => `UPDATE audit SET hash = prev_hash WHERE seq = ${seq}`),
  fc.integer({ min: 1, max: n }).map((seq) => `UPDATE audit SET prev_hash = hash WHERE seq = ${seq}`),
  fc.integer({ min: 1, max: n }).map((seq) => `DELETE FROM audit WHERE seq = ${seq}`),
  fc.integer({ min: 1, max: n }).map((seq) => `UPDATE audit SET seq = 100000 WHERE seq = ${seq}`),
  fc.integer({ min: 1, max: n }).map((seq) => `UPDATE audit SET seq = ${1 - seq} WHERE seq = ${seq}`),
  fc.tuple(fc.integer({ min: 1, max: n }), fc.integer({ min: 1, max: n })).map(([a, b]) => `UPDATE audit SET seq = -1 WHERE seq = ${a}; UPDATE audit SET seq = ${a} WHERE seq = ${b}; UPDATE audit SET seq = ${b} WHERE seq = -1`),
)

describe('what the store writes', () => {
  it('stores data as the canonical JSON the hash covers, which the definition verifies', () => {
    fc.assert(fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), (events) => {
      const store = freshStore()
      store.transaction(() => events.forEach((e) => store.appendAudit(e)))
      for (const row of store.db.prepare('SELECT data FROM audit').all() as { data: string }[]) {
        expect(canonicalJson(JSON.parse(row.data))).toBe(row.data)
      }
      // verifyChain re-derives each hash from the parsed data, as the definition says.
      expect(verifyChain(auditRows(store))).toEqual({ ok: true, events: events.length })
      store.close()
    }), { numRuns: 40 })
  })

  it('canonical JSON read back and written again gives the same text, for any value', () => {
    fc.assert(fc.property(fc.anything({ withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withBoxedValues: true }), (value) => {
      const once = canonicalJson(value)
      expect(canonicalJson(JSON.parse(once))).toBe(once)
    }), { numRuns: 500 })
  })
})

describe('verifying a store log in ranges', () => {
  it('gives verifyChain\'s verdict for any log, any tampering and any number of ranges', () => {
    fc.assert(fc.property(fc.array(anyEvent, { minLength: 1, maxLength: 12 }).chain((events) => fc.tuple(fc.constant(events), tampering(events.length), fc.integer({ min: 0, max: events.length }))), ([events, sql, legacy]) => {
      const store = freshStore()
      appendLegacy(store, legacy)
      store.transaction(() => events.forEach((e) => store.appendAudit(e)))
      if (sql) store.db.exec(sql)
      const expected = verifyChain(auditRows(store))
      for (const parts of [1, 2, 3, 5]) expect(checkInParts(store, parts)).toEqual(expected)
      store.close()
    }), { numRuns: 150 })
  })

  it('gives the same verdict walked in keyset batches from a snapshot (the broker\'s path on any store), for any batch size', async () => {
    await fc.assert(fc.asyncProperty(fc.array(anyEvent, { minLength: 1, maxLength: 12 }).chain((events) => fc.tuple(fc.constant(events), tampering(events.length), fc.integer({ min: 0, max: events.length }))), async ([events, sql, legacy]) => {
      const store = freshStore()
      appendLegacy(store, legacy)
      store.transaction(() => events.forEach((e) => store.appendAudit(e)))
      if (sql) store.db.exec(sql)
      const expected = verifyChain(auditRows(store))
      const read = { query: async (text: string, params: (string | number | null)[] = []) => store.db.prepare(text).all(...params) as Row[] }
      for (const batch of [1, 2, 5, 2000]) expect(await verifyInBatches(read, Number.MAX_SAFE_INTEGER, batch)).toEqual(expected)
      store.close()
    }), { numRuns: 100 })
  })

  it('verifies records written the earlier way (JSON.stringify data), alone and followed by new ones', async () => {
    const store = freshStore()
    appendLegacy(store, 5)
    expect(store.db.prepare('SELECT data FROM audit WHERE seq = 1').get()).toEqual({ data: expect.stringMatching(/^\{"ticket"/) })
    expect(await verifyAuditLog(store.file)).toEqual({ ok: true, events: 5 })
    store.transaction(() => store.appendAudit({ type: 'user.saved', actor: 'operator:root', data: { user: 'alice', roles: ['technician'] } }))
    expect(await verifyAuditLog(store.file)).toEqual({ ok: true, events: 6 })
    store.db.exec(`UPDATE audit SET data = replace(data, 'WO-104233', 'WO-999999') WHERE seq = 4`)
    expect(await verifyAuditLog(store.file)).toEqual({ ok: false, events: 4, firstBad: { seq: 4, problem: 'content does not match its hash: the record was edited' } })
    store.close()
  })

  it('names a record whose data is no longer JSON as edited', async () => {
    const store = freshStore()
    store.transaction(() => [1, 2, 3].forEach((n) => store.appendAudit({ type: 'test', actor: 'a', data: { n } })))
    store.db.exec(`UPDATE audit SET data = 'not json' WHERE seq = 2`)
    expect(await verifyAuditLog(store.file)).toEqual({ ok: false, events: 2, firstBad: { seq: 2, problem: 'content does not match its hash: the record was edited' } })
    store.close()
  })

  it('an empty log verifies with no events', async () => {
    const store = freshStore()
    expect(await verifyAuditLog(store.file)).toEqual({ ok: true, events: 0 })
    store.close()
  })

  it('plans ranges that cover lo..hi in order, without overlap', () => {
    fc.assert(fc.property(fc.integer({ min: -5, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 9 }), (lo, span, parts) => {
      const ranges = planRanges(lo, lo + span, parts)
      expect(ranges[0][0]).toBe(lo - 1)
      expect(ranges.at(-1)![1]).toBe(lo + span)
      expect(ranges.length).toBeLessThanOrEqual(parts)
      for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1])
      for (const [after, upTo] of ranges) expect(upTo).toBeGreaterThan(after)
    }))
  })
})
