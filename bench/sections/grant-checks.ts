// The cost of the one session gate on the grant path (src/broker/gate.ts), in process, on a
// real SQLite store: the checks a standard request ran before the gate (the review gate and the
// policy decision) against the gate now (plus the user's and device's standing), per grant, in
// CPU µs; and a whole in-process grant (gate, transaction with its audit records, credential
// signed) for scale. The throughput section gives broker CPU per grant over HTTP, end to end.
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ReviewStore } from '../../dist/src/broker/breakglass/review-store.js'
import { decide } from '../../dist/src/broker/decide.js'
import { assertNoReviewDue, sessionGate } from '../../dist/src/broker/gate.js'
import { Notifier } from '../../dist/src/broker/notifier.js'
import { createRequest } from '../../dist/src/broker/requests.js'
import { loadOrCreateSigningKey } from '../../dist/src/broker/signing-key.js'
import { SqliteAsyncStore } from '../../dist/src/broker/store/sqlite-async-store.js'
import { SqliteStore } from '../../dist/src/broker/store/sqlite-store.js'
import { parsePolicy } from '../../dist/src/policy/load.js'
import { median, type Section } from '../lib.ts'
import { ASSET, TICKET, removeDirs, tempDir } from '../support.ts'

async function cpuMicrosPer(iterations: number, fn: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage()
  for (let i = 0; i < iterations; i++) await fn()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / iterations
}

const grantChecks: Section = async ({ quick, root }) => {
  const dataDir = tempDir('jit-bench-gate-')
  const sqlite = new SqliteStore(dataDir)
  const store = new SqliteAsyncStore(sqlite)
  try {
    const reviews = new ReviewStore(store)
    const ctx = {
      store,
      signingKey: await loadOrCreateSigningKey(dataDir),
      issuer: 'http://bench.test',
      policy: parsePolicy(readFileSync(join(root, 'test/fixtures/policy.yaml'), 'utf8')),
      events: new EventEmitter(),
      now: Date.now,
      reviews,
      notifier: new Notifier(reviews, [], () => {}),
    }
    await store.users.upsert({ name: 'tech-a', roles: ['technician'], disabled: false })
    await store.assets.upsert({ path: ASSET, attributes: { state: 'running' } })
    await store.devices.add({ id: 'dev_bench', user: 'tech-a', name: 'bench', publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }, jkt: 'jkt-bench', createdAt: '' })
    const actor = { user: (await store.users.get('tech-a'))!, deviceId: 'dev_bench' }
    const asked = { ticket: TICKET, asset: ASSET, scope: 'diagnose', ttlSeconds: 1800, reason: 'bench' }
    const iterations = quick ? 200 : 20_000
    const repetitions = quick ? 1 : 5
    const before: number[] = []
    const after: number[] = []
    const grant: number[] = []
    for (let r = 0; r < repetitions; r++) {
      before.push(await cpuMicrosPer(iterations, async () => {
        await assertNoReviewDue(ctx as never, actor as never)
        if (!(await decide(ctx as never, actor.user as never, asked)).allow) throw new Error('the bench rule must allow')
      }))
      after.push(await cpuMicrosPer(iterations, async () => {
        if (!(await sessionGate(ctx as never, { path: 'request', kind: 'standard', user: 'tech-a', deviceId: 'dev_bench', asked })).allow) throw new Error('the bench rule must allow')
      }))
      grant.push(await cpuMicrosPer(quick ? 50 : 2000, async () => {
        if ((await createRequest(ctx as never, actor as never, asked)).status !== 201) throw new Error('expected a grant')
      }))
    }
    const b = median(before)
    const a = median(after)
    const whole = median(grant)
    return [
      { section: 'grant-checks', name: 'checks before the gate (review gate + policy decision)', value: b, unit: 'µs CPU/grant', note: `median of ${repetitions} x ${iterations}` },
      { section: 'grant-checks', name: 'the session gate (standing + review gate + ticket slot + policy decision)', value: a, unit: 'µs CPU/grant', baseline: { name: 'checks before the gate', value: b }, ratio: a / b, note: `+${(a - b).toFixed(1)} µs per grant` },
      { section: 'grant-checks', name: 'a whole grant in process (gate, transaction and audit, credential)', value: whole, unit: 'µs CPU/grant', note: `the gate is ${((a / whole) * 100).toFixed(0)}% of it; no fsync (no group commit here)` },
    ]
  } finally {
    await store.close()
    removeDirs(dataDir)
  }
}

export default grantChecks
