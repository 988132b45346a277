// The anchored audit chain: sequence numbers never reused, signed checkpoints, and verification
// that finds deleted newest records and a chain rewritten with the public recipe, given a
// checkpoint held outside the database. A real SQLite store; the broker's own functions.
import { generateKeyPairSync, sign } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { hashEvent, GENESIS_HASH } from '../../../src/audit/chain.js'
import { exportLines, verifyExport } from '../../../src/audit/export.js'
import { checkpointHead, listCheckpoints, publicKeyOf, verifyAnchored } from '../../../src/broker/audit-anchor.js'
import type { BrokerContext } from '../../../src/broker/context.js'
import { toAuditEvent, type Row } from '../../../src/broker/store/records.js'
import { testContext, type TestContext } from '../broker/test-context.js'

let t: TestContext
let ctx: BrokerContext

beforeEach(async () => {
  t = await testContext('version: 1\nrules: []\n')
  ctx = t.ctx
})
afterEach(() => t.close())

const append = (n: number) => {
  for (let i = 0; i < n; i++) t.sqlite.audit({ type: 'test.event', actor: 'tess', data: { i } })
}
const seqs = async () => (await ctx.store.auditLog.events()).map((e) => e.seq)
const verify = (anchors: string[] = []) => verifyAnchored(ctx.store, { publicKey: publicKeyOf(ctx.signingKey), kid: ctx.signingKey.kid, anchors })
const checkpoint = async () => (await checkpointHead(ctx.store, ctx.signingKey, ctx.issuer, ctx.now()))!.jws
const sql = (text: string) => t.sqlite.db.exec(text)

/** What an insider with the database file and the public recipe does: rewrite a record and every hash after it. */
function rewriteFrom(seq: number, actor: string): void {
  const events = (t.sqlite.db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[]).map(toAuditEvent)
  let prev = seq === 1 ? GENESIS_HASH : events[seq - 2].hash
  for (const event of events.slice(seq - 1)) {
    const body = { ...event, actor: event.seq === seq ? actor : event.actor }
    const hash = hashEvent(prev, body)
    t.sqlite.db.prepare('UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(body.actor, prev, hash, event.seq)
    prev = hash
  }
}

describe('anchored audit chain', () => {
  it('deleting the newest records never makes the broker reuse their sequence numbers, and verification sees the gap', async () => {
    append(5)
    sql('DELETE FROM audit WHERE seq >= 4')
    expect((await verify()).firstBad?.problem).toMatch(/wrote records up to 5, the log ends at 3/)
    append(1)
    expect(await seqs()).toEqual([1, 2, 3, 6])
    const result = await verify()
    expect(result.ok).toBe(false)
    expect(result.firstBad).toEqual({ seq: 6, problem: expect.stringMatching(/expected record 4 here/) })
  })

  it('a checkpoint held outside the database finds deleted newest records, even with the high-water mark and the stored checkpoints put back in line', async () => {
    append(5)
    const held = await checkpoint()
    append(2)
    expect(await verify([held])).toMatchObject({ ok: true, events: 7, anchors: 2, anchoredAt: { seq: 5 } })
    sql('DELETE FROM audit WHERE seq >= 4; UPDATE audit_high_water SET seq = 3; DELETE FROM audit_checkpoints')
    expect((await verify()).ok).toBe(true) // nothing inside the database shows it any more
    const result = await verify([held])
    expect(result).toMatchObject({ ok: false, firstBad: { seq: 4, problem: expect.stringMatching(/covers record 5: the newest records were deleted/) } })
  })

  it('a chain rewritten with the public recipe (every later hash recomputed) fails against a held checkpoint and the stored one', async () => {
    append(6)
    const held = await checkpoint()
    rewriteFrom(2, 'mallory')
    expect((await verify()).firstBad).toEqual({ seq: 6, problem: expect.stringMatching(/rewritten/) })
    sql('DELETE FROM audit_checkpoints')
    expect((await verify()).ok).toBe(true)
    expect((await verify([held])).firstBad).toEqual({ seq: 6, problem: expect.stringMatching(/does not match the checkpoint signed at .*: the chain up to here was rewritten/) })
  })

  it('a checkpoint by another key is refused; a tampered chain is never signed', async () => {
    append(3)
    const other = await testContext('version: 1\nrules: []\n')
    try {
      other.sqlite.audit({ type: 'x', actor: 'y' })
      const foreign = (await checkpointHead(other.ctx.store, other.ctx.signingKey, 'other', Date.now()))!.jws
      expect((await verify([foreign])).firstBad?.problem).toMatch(/signed by another key/)
    } finally {
      other.close()
    }
    await checkpoint()
    append(2)
    sql("UPDATE audit SET actor = 'mallory' WHERE seq = 5")
    await expect(checkpoint()).rejects.toThrow(/do not check/)
    expect((await listCheckpoints(ctx.store)).map((c) => c.seq)).toEqual([3])
  })

  it('a checkpoint re-signed by the broker\'s own key under another alg or typ is refused as malformed', async () => {
    append(3)
    const [head, body] = (await checkpoint()).split('.')
    const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as Record<string, unknown>
    const resigned = (h: Record<string, unknown>) => {
      const input = `${Buffer.from(JSON.stringify(h)).toString('base64url')}.${body}`
      return `${input}.${sign(null, Buffer.from(input), ctx.signingKey.privateKey).toString('base64url')}`
    }
    expect((await verify([resigned(header)])).ok).toBe(true)
    for (const h of [{ ...header, alg: 'none' }, { ...header, alg: 'HS512' }, { ...header, typ: 'JWT' }, { ...header, crit: ['seq'] }]) {
      expect((await verify([resigned(h)])).firstBad?.problem, JSON.stringify(h)).toMatch(/checkpoint is malformed/)
    }
    expect((await verify([`${head}.${body}.`])).firstBad?.problem).toMatch(/checkpoint is malformed/)
  })

  it('a JSON-lines export carries the checkpoints and verifies on its own; a truncated or edited copy does not', async () => {
    append(4)
    await checkpoint()
    const text = [...exportLines('jsonl', { issuer: ctx.issuer, jwk: ctx.signingKey.publicJwk }, (await t.ctx.store.auditLog.events()), await listCheckpoints(ctx.store))].join('')
    expect(verifyExport(text)).toMatchObject({ ok: true, events: 4, anchors: 1, anchoredAt: { seq: 4 } })
    expect(verifyExport(text).anchoredBy).toEqual([])
    const pinned = { kid: ctx.signingKey.kid, publicKey: publicKeyOf(ctx.signingKey), x: ctx.signingKey.publicJwk.x! }
    expect(verifyExport(text, { keys: [pinned] })).toMatchObject({ ok: true, anchoredBy: ['key'] })
    const another = generateKeyPairSync('ed25519').publicKey
    const pinnedOther = { kid: 'another-kid', publicKey: another, x: (another.export({ format: 'jwk' }) as { x: string }).x }
    expect(verifyExport(text, { keys: [pinnedOther] }).firstBad?.problem).toMatch(/not the pinned key another-kid/)
    const lines = text.trimEnd().split('\n')
    const truncated = [...lines.slice(0, 4), lines[5]].join('\n') // events 1-3 and the checkpoint of 4
    expect(verifyExport(truncated).firstBad?.problem).toMatch(/newest records were deleted/)
    expect(verifyExport(text.replace('"actor":"tess"', '"actor":"mallory"')).firstBad?.problem).toMatch(/edited/)
    const csv = [...exportLines('csv', { issuer: ctx.issuer, jwk: ctx.signingKey.publicJwk }, (await t.ctx.store.auditLog.events()), await listCheckpoints(ctx.store))].join('')
    expect(csv.split('\n')[0]).toBe('record,seq,at,type,severity,actor,session_id,request_id,data,prev_hash,hash,checkpoint')
    expect(csv).toMatch(/^checkpoint,4,/m)
    expect(csv).toContain('"{""i"":0}"')
  })
})
