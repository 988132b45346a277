// The audit chain on PostgreSQL, written by two brokers' stores at once: it verifies (walked in
// keyset batches from one snapshot), checkpoints are signed and stored, and tampering done
// directly in the database (psql, as an insider with database access would) is found and named:
// an edited record, and the newest records deleted (caught by the high-water mark). Also through
// `jit audit verify --data KEYS --database URL` (exit 0, then 10) and `jit audit export`.
// A real PostgreSQL server (test/e2e/postgres.ts) and the bundled CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyExport } from '../../src/audit/export.js'
import { checkpointHead, checkpointIfDue, latestCheckpoint, publicKeyOf, verifyAnchored } from '../../src/broker/audit-anchor.js'
import { auditExport } from '../../src/broker/audit-export.js'
import { loadOrCreateSigningKey, type SigningKey } from '../../src/broker/signing-key.js'
import { databaseLogin } from '../../src/broker/store/postgres/connection.js'
import { PostgresStore } from '../../src/broker/store/postgres/postgres-store.js'
import { cleanup, jit, tempDir } from './harness.js'
import { startPostgres, type TestPostgres } from './postgres.js'

let server: TestPostgres
let keysDir: string
let key: SigningKey
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  server = await startPostgres()
  keysDir = tempDir('jit-audit-pg-keys-')
  key = await loadOrCreateSigningKey(keysDir)
})

afterAll(async () => {
  for (const close of closers) await close().catch(() => {})
  await server?.stop()
  if (keysDir) cleanup(keysDir)
})

async function open(url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open(databaseLogin(url, { env: { JIT_DATABASE_PASSWORD: server.password } }))
  closers.push(() => store.close())
  return store
}

const verify = (store: PostgresStore, anchors: string[] = []) => verifyAnchored(store, { publicKey: publicKeyOf(key), kid: key.kid, anchors })
/** `jit audit verify` on the database, with the password in the environment (never in argv). */
/** The broker's key as an auditor pins it for verifyExport. */
const pinnedOf = (k: SigningKey) => ({ kid: k.kid, publicKey: publicKeyOf(k), x: k.publicJwk.x! })
const cliVerify = (url: string, home: string) => jit(['audit', 'verify', '--data', keysDir, '--database', url, '--json'], { home, env: { JIT_DATABASE_PASSWORD: server.password } })

describe('the audit chain on PostgreSQL', () => {
  it('records appended by two brokers verify; checkpoints are signed and stored; an edited record is found and named, also by jit audit verify (exit 0, then 10)', async () => {
    const name = 'audit_two_brokers'
    const url = server.createDatabase(name)
    const [a, b] = [await open(url), await open(url)]
    // Both brokers at once: the database serialises the appends into one chain.
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).audit({ type: 'test.event', actor: i % 2 === 0 ? 'broker-a' : 'broker-b', data: { i } })))
    // More than one keyset batch (2000 rows) of log.
    await b.transaction(async (tx) => {
      for (let i = 0; i < 2100; i++) await tx.appendAudit({ type: 'test.bulk', actor: 'broker-b', data: { i } })
    })
    expect(await verify(a)).toMatchObject({ ok: true, events: 2140, anchors: 0 })

    // The sweeper's checkpoint (no checkpoint yet: due), stored where the other broker reads it.
    const log: string[] = []
    await checkpointIfDue(a, key, 'https://jit.test', Date.now(), (line) => log.push(line))
    expect(log).toEqual([])
    const stored = await latestCheckpoint(b)
    expect(stored).toMatchObject({ seq: 2140 })
    await a.audit({ type: 'test.event', actor: 'broker-a', data: { after: 'checkpoint' } })
    const onDemand = await checkpointHead(b, key, 'https://jit.test', Date.now())
    expect(onDemand).toMatchObject({ seq: 2141 })
    expect(await verify(a, [stored!.jws])).toMatchObject({ ok: true, events: 2141, anchors: 2, anchoredAt: { seq: 2141 } })

    const home = tempDir('jit-audit-pg-home-')
    try {
      const intact = await cliVerify(url, home)
      expect(intact.code).toBe(0)
      expect(intact.json()).toMatchObject({ ok: true, events: 2141, anchoredAt: { seq: 2141 } })

      // An export read from the database verifies on its own, checkpoints included.
      const chunks: string[] = []
      for await (const chunk of auditExport(a, 'jsonl', { issuer: 'https://jit.test', jwk: key.publicJwk })) chunks.push(chunk)
      expect(verifyExport(chunks.join(''), { keys: [pinnedOf(key)] })).toMatchObject({ ok: true, events: 2141, anchors: 2 })

      // Past the first batch: the walk goes on batch by batch and names the record.
      server.psql(`UPDATE audit SET data = '{"i":999}' WHERE seq = 2050`, name)
      expect((await verify(a)).firstBad).toEqual({ seq: 2050, problem: expect.stringMatching(/edited/) })
      // A tampered chain is never signed: the records since the last checkpoint are checked first.
      await a.audit({ type: 'test.event', actor: 'broker-a', data: { after: 'tampering' } })
      server.psql(`UPDATE audit SET actor = 'mallory' WHERE seq = 2142`, name)
      await expect(checkpointHead(b, key, 'https://jit.test', Date.now())).rejects.toThrow(/do not check/)
      expect((await latestCheckpoint(a))?.seq).toBe(2141)

      const broken = await cliVerify(url, home)
      expect(broken.code).toBe(10)
      expect(broken.json().error).toMatchObject({ code: 'audit-chain-broken', firstBad: { seq: 2050 } })
      expect(broken.json().error.message).toMatch(/record 2050/)
      expect(broken.stderr).not.toContain(server.password)
    } finally {
      cleanup(home)
    }
  })

  it('deleting the newest records is caught by the high-water mark, and by a checkpoint held elsewhere once that is put back in line', async () => {
    const name = 'audit_truncated'
    const url = server.createDatabase(name)
    const store = await open(url)
    for (let i = 0; i < 5; i++) await store.audit({ type: 'test.event', actor: 'broker-a', data: { i } })
    const held = (await checkpointHead(store, key, 'https://jit.test', Date.now()))!.jws
    for (let i = 5; i < 8; i++) await store.audit({ type: 'test.event', actor: 'broker-a', data: { i } })
    expect(await verify(store, [held])).toMatchObject({ ok: true, events: 8 })

    server.psql('DELETE FROM audit WHERE seq >= 4', name)
    expect((await verify(store)).firstBad).toEqual({ seq: 4, problem: expect.stringMatching(/wrote records up to 8, the log ends at 3: the newest records were deleted/) })
    server.psql('UPDATE audit_high_water SET seq = 3; DELETE FROM audit_checkpoints', name)
    expect((await verify(store)).ok).toBe(true) // nothing inside the database shows it any more
    expect((await verify(store, [held])).firstBad).toEqual({ seq: 4, problem: expect.stringMatching(/covers record 5: the newest records were deleted/) })
  })

  it('jit audit export --database writes the log from the database; --database without --data is refused (exit 2)', async () => {
    const name = 'audit_export'
    const url = server.createDatabase(name)
    const store = await open(url)
    for (let i = 0; i < 3; i++) await store.audit({ type: 'test.event', actor: 'broker-a', data: { i } })
    await checkpointHead(store, key, 'https://jit.test', Date.now())
    const home = tempDir('jit-audit-pg-home-')
    try {
      const exported = await jit(['audit', 'export', '--format', 'jsonl', '--data', keysDir, '--database', url], { home, env: { JIT_DATABASE_PASSWORD: server.password } })
      expect(exported.code).toBe(0)
      expect(verifyExport(exported.stdout, { keys: [pinnedOf(key)] })).toMatchObject({ ok: true, events: 3, anchors: 1, anchoredAt: { seq: 3 } })
      const refused = await jit(['audit', 'verify', '--database', url], { home, env: { JIT_DATABASE_PASSWORD: server.password } })
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(/--database needs --data/)
    } finally {
      cleanup(home)
    }
  })
})
