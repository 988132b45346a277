// jit audit verify --data on a real store: an edited, deleted or reordered record is found and named,
// also in a log large enough to be checked in ranges on worker threads. jit audit verify --file on
// a real broker's export: anchored by a checkpoint held outside it or by the broker's pinned key, a
// copy cut short, rewritten or signed again with another key fails; alone, the output says that
// nothing anchors the file.
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { calculateJwkThumbprint } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashEvent } from '../../src/audit/chain.js'
import { signCheckpoint } from '../../src/audit/checkpoint.js'
import { addUser, openStore } from '../../src/broker/admin.js'
import { SqliteAsyncStore } from '../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../src/broker/store/sqlite-store.js'
import { PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'

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

describe('jit audit verify --file', () => {
  let broker: TestBroker
  let admin: string
  const files = tempDir('jit-audit-file-')
  const at = (name: string) => join(files, name)
  let lines: string[]

  beforeAll(async () => {
    broker = await startBroker()
    admin = await broker.enroll('ada', ['admin'])
    const tess = await broker.enroll('tess', ['technician'])
    const request = ['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'r', '--json']
    expect((await jit(request, { home: tess })).code).toBe(0)
    // The auditor's own run keeps a checkpoint of the head, outside the export.
    const verified = await jit(['audit', 'verify', '--json'], { home: admin })
    expect(verified.code, verified.stderr).toBe(0)
    writeFileSync(at('held.jws'), `${verified.json().checkpoint}\n`)
    expect((await jit(request, { home: tess })).code).toBe(0)
    const exported = await jit(['audit', 'export', '--format', 'jsonl', '--output', at('audit.jsonl'), '--json'], { home: admin })
    expect(exported.code, exported.stderr).toBe(0)
    // The broker's published key set, saved by the auditor, and its one key as a JWK file.
    const jwks = await (await fetch(`${broker.url}/.well-known/jwks.json`)).json() as { keys: object[] }
    writeFileSync(at('jwks.json'), JSON.stringify(jwks))
    writeFileSync(at('key.jwk'), JSON.stringify(jwks.keys[0]))
    lines = readFileSync(at('audit.jsonl'), 'utf8').trimEnd().split('\n')
    expect(lines.filter((line) => line.includes('"record":"checkpoint"')).length).toBeGreaterThan(0)
  })

  afterAll(async () => {
    await broker.stop()
    cleanup(broker.dataDir, admin, files)
  })

  const records = (type: string) => lines.filter((line) => JSON.parse(line).record === type)
  const verify = (file: string, ...anchors: string[]) => jit(['audit', 'verify', '--file', at(file), ...anchors, '--json'], { home: admin })
  const anchorings = [
    { name: 'a checkpoint held outside it', args: () => ['--checkpoint', at('held.jws')], by: ['checkpoint'] },
    { name: 'the broker\'s key set', args: () => ['--jwks', at('jwks.json')], by: ['key'] },
    { name: 'the broker\'s key', args: () => ['--key', at('key.jwk')], by: ['key'] },
  ]

  /** The newest events (from the one the held checkpoint covers) and every checkpoint line gone: what is left is a valid chain, shorter. */
  function truncated(): string {
    const jws = readFileSync(at('held.jws'), 'utf8').trim()
    const heldSeq = JSON.parse(Buffer.from(jws.split('.')[1], 'base64url').toString()).seq as number
    return [records('broker')[0], ...records('event').filter((line) => JSON.parse(line).seq < heldSeq)].join('\n')
  }

  /** Record 2 rewritten, every later hash recomputed with the public recipe, checkpoints signed again with a key of the forger's own, which the file then names. */
  async function rewrittenAndResigned(): Promise<string> {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string }
    const kid = await calculateJwkThumbprint(jwk)
    let prevHash = '0'.repeat(64)
    const events = records('event').map((line) => {
      const { record, hash, prevHash: _, ...body } = JSON.parse(line)
      if (body.seq === 2) body.actor = 'mallory'
      const event = { ...body, prevHash, hash: hashEvent(prevHash, body) }
      prevHash = event.hash
      return JSON.stringify({ record, ...event })
    })
    const head = JSON.parse(events[events.length - 1])
    const signedAt = new Date().toISOString()
    const checkpoint = { record: 'checkpoint', seq: head.seq, hash: head.hash, at: signedAt, jws: signCheckpoint(head, signedAt, broker.url, privateKey, kid) }
    return [JSON.stringify({ record: 'broker', issuer: broker.url, jwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } }), ...events, JSON.stringify(checkpoint)].join('\n')
  }

  it('the export as made verifies against each anchor, and says which anchored it', async () => {
    for (const anchoring of anchorings) {
      const result = await verify('audit.jsonl', ...anchoring.args())
      expect(result.code, `${anchoring.name}: ${result.stdout}${result.stderr}`).toBe(0)
      expect(result.json()).toMatchObject({ ok: true, anchoredBy: anchoring.by })
    }
    const both = await verify('audit.jsonl', '--checkpoint', at('held.jws'), '--jwks', at('jwks.json'))
    expect(both.json()).toMatchObject({ ok: true, anchoredBy: ['checkpoint', 'key'] })
  })

  it('alone, an export verifies but says plainly that nothing anchors it (anchoredBy empty in --json)', async () => {
    writeFileSync(at('truncated.jsonl'), truncated())
    for (const file of ['audit.jsonl', 'truncated.jsonl']) {
      const json = await verify(file)
      expect(json.code).toBe(0)
      expect(json.json()).toMatchObject({ ok: true, anchoredBy: [] })
      const human = await jit(['audit', 'verify', '--file', at(file)], { home: admin })
      expect(human.code).toBe(0)
      expect(human.stderr).toMatch(/Nothing outside the file anchors it/)
    }
  })

  it('cut short, with its checkpoint lines removed: fails against each anchor (exit 10)', async () => {
    writeFileSync(at('truncated.jsonl'), truncated())
    for (const anchoring of anchorings) {
      const result = await verify('truncated.jsonl', ...anchoring.args())
      expect(result.code, `${anchoring.name}: ${result.stdout}${result.stderr}`).toBe(10)
      expect(result.json().error.code).toBe('audit-chain-broken')
      expect(result.json().error.firstBad.problem).toMatch(anchoring.by[0] === 'checkpoint' ? /the newest records were deleted/ : /no checkpoint signed by the pinned key/)
    }
  })

  it('rewritten and signed again with another key: fails against each anchor (exit 10)', async () => {
    writeFileSync(at('forged.jsonl'), await rewrittenAndResigned())
    // The forgery is consistent with itself: alone it passes, unanchored.
    expect((await verify('forged.jsonl')).json()).toMatchObject({ ok: true, anchoredBy: [] })
    for (const anchoring of anchorings) {
      const result = await verify('forged.jsonl', ...anchoring.args())
      expect(result.code, `${anchoring.name}: ${result.stdout}${result.stderr}`).toBe(10)
      expect(result.json().error.firstBad.problem).toMatch(anchoring.by[0] === 'checkpoint' ? /signed by another key/ : /not the pinned key/)
    }
  })

  it('a key that is not a public Ed25519 key is bad input (exit 2)', async () => {
    writeFileSync(at('private.pem'), generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }))
    const refused = await verify('audit.jsonl', '--key', at('private.pem'))
    expect(refused.code).toBe(2)
    expect(refused.json().error.message).toMatch(/private key/)
  })
})
