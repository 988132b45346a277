// A broker context on a real SQLite store in a temp folder, with a clock the test moves.
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Notifier } from '../../../src/broker/notifier.js'
import type { Actor, BrokerContext } from '../../../src/broker/context.js'
import { loadOrCreateSigningKey } from '../../../src/broker/signing-key.js'
import { ReviewStore } from '../../../src/broker/breakglass/review-store.js'
import { SqliteAsyncStore } from '../../../src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../../src/broker/store/sqlite-store.js'
import { parsePolicy } from '../../../src/policy/load.js'

export interface TestContext {
  ctx: BrokerContext
  /** The SQLite engine behind ctx.store, for SQL of the test's own (its file, its audit chain). */
  sqlite: SqliteStore
  clock: { now: number }
  /** Adds a user with one device; returns them as an API caller. */
  actor(name: string, roles: string[], publicJwk?: { kty: 'OKP'; crv: 'Ed25519'; x: string }): Promise<Actor>
  close(): void
}

export async function testContext(policyYaml: string, startAt = Date.now(), extra: Partial<BrokerContext> = {}): Promise<TestContext> {
  const dir = mkdtempSync(join(tmpdir(), 'jit-unit-'))
  const clock = { now: startAt }
  const sqlite = new SqliteStore(dir)
  const store = new SqliteAsyncStore(sqlite)
  const reviews = new ReviewStore(store)
  const ctx: BrokerContext = {
    store,
    dataDir: dir,
    signingKey: await loadOrCreateSigningKey(dir),
    issuer: 'http://broker.test',
    trustDomain: 'jit.test',
    policy: parsePolicy(policyYaml),
    events: new EventEmitter(),
    now: () => clock.now,
    reviews,
    notifier: new Notifier(reviews, [], () => {}),
    ...extra,
  }
  return {
    ctx,
    sqlite,
    clock,
    async actor(name, roles, publicJwk = { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }) {
      await store.users.upsert({ name, roles, disabled: false })
      const deviceId = `dev_${name}_${Math.random().toString(36).slice(2, 8)}`
      await store.devices.add({ id: deviceId, user: name, name: 'laptop', publicJwk, jkt: `jkt-${name}`, createdAt: '' })
      return { user: (await store.users.get(name))!, deviceId }
    },
    close() {
      sqlite.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
