// Several brokers on one PostgreSQL database, beside the embedded SQLite broker, in one run:
// grants per second and latency of POST /v1/requests on the auto-approving rule (the
// throughput section's load) with ONE SQLite broker, ONE broker on PostgreSQL and TWO brokers
// sharing one PostgreSQL database with the load split between them; then how fast a session
// ended on one broker reaches a gateway's long poll of the revocation stream on another.
//
// Everything is real and on this machine: `jit broker start` processes (with --database and
// JIT_DATABASE_PASSWORD for PostgreSQL, one --issuer and the same key files for the pair), a
// PostgreSQL server from Debian's packages (test/e2e/postgres.ts, fsync on), and the load
// generator. They all share the machine's cores, so two brokers cannot be faster than the cores
// they, the database and the load generator have between them; the note on each row says so.
import { cpus } from 'node:os'
import { Pool } from 'undici'
import { deviceAssertion } from '../../dist/src/cli/device/device-key.js'
import { PartialSectionError, median, nowMs, percentile, type BenchRow, type Section } from '../lib.ts'
import { GRANT_BODY, GRANT_PATH, driveGrants, grantBody, startBrokerProcess, type BrokerOptions, type BrokerProcess, type GrantRun, type GrantTarget } from '../support.ts'
import { startPostgres, type TestPostgres } from '../../test/e2e/postgres.ts'

const SECTION = 'several-brokers'
/** The brief's goal for two brokers on one database against one. */
const SCALE_GOAL = 1.6
/** The brief's goal for a session end to reach every broker's revocation stream. */
const PROPAGATION_GOAL_MS = 1000
/** Every broker of a plant signs for, and is called as, one issuer. */
const ISSUER = 'https://jit.bench.invalid'
const CONCURRENCY = 16

/** One configuration under load: its brokers, a pool and an enrolled device for each. */
interface Setup {
  name: string
  brokers: BrokerProcess[]
  targets: GrantTarget[]
  runs: GrantRun[]
}

/**
 * A plant's load: CONCURRENCY technicians, each on a device of their own and on an asset of their
 * own (a request locks its user and its asset on a shared database, so one user on one asset
 * would measure that lock, not the brokers), dealt out over the brokers as a load balancer would.
 */
async function setUp(name: string, brokers: BrokerProcess[]): Promise<Setup> {
  const pools = brokers.map((broker) => new Pool(broker.url, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 }))
  const targets: GrantTarget[] = []
  for (let i = 0; i < CONCURRENCY; i++) {
    const at = i % brokers.length
    const asset = `plant-a/line-3/cell-${i}/plc-07`
    await brokers[at].addAsset(asset)
    const key = { ...(await brokers[at].enrollDevice(`tech-load-${i}`)), audience: brokers[at].issuer }
    targets.push({ pool: pools[at], key, body: grantBody(asset) })
  }
  return { name, brokers, targets, runs: [] }
}

async function tearDown(setup: Setup): Promise<void> {
  await Promise.all([...new Set(setup.targets.map((t) => t.pool))].map((pool) => pool.close()))
  await Promise.all(setup.brokers.map((b) => b.stop()))
}

/** Two brokers on one database, as docs/SEVERAL-BROKERS.md runs them: one issuer, the first one's key files copied to the second. */
async function startPair(root: string, database: BrokerOptions['database']): Promise<BrokerProcess[]> {
  const first = await startBrokerProcess(root, undefined, { database, issuer: ISSUER })
  try {
    return [first, await startBrokerProcess(root, undefined, { database, issuer: ISSUER, keysFrom: first.dataDir })]
  } catch (error) {
    await first.stop()
    throw error
  }
}

const summary = (setup: Setup) => ({
  rate: median(setup.runs.map((r) => r.grantsPerSecond)),
  p50: median(setup.runs.map((r) => r.p50)),
  p99: median(setup.runs.map((r) => r.p99)),
  cpu: setup.runs.every((r) => r.cpuMicros !== undefined) ? Math.round(median(setup.runs.map((r) => r.cpuMicros!))) : undefined,
  busy: setup.runs.every((r) => r.machineBusy !== undefined) ? median(setup.runs.map((r) => r.machineBusy!)) : undefined,
})

function grantRow(setup: Setup, total: number, baseline?: { setup: Setup; name: string }, goal?: number): BenchRow {
  const { rate, p50, p99, cpu, busy } = summary(setup)
  const base = baseline ? summary(baseline.setup).rate : undefined
  const ratio = base === undefined ? undefined : rate / base
  return {
    section: SECTION,
    name: `request → grant, ${setup.name}`,
    value: rate,
    unit: 'grants/s',
    p50,
    p99,
    ...(baseline && base !== undefined ? { baseline: { name: baseline.name, value: base }, ratio } : {}),
    ...(goal !== undefined && ratio !== undefined ? { target: `≥ ${goal}x one broker`, met: ratio >= goal } : {}),
    note: `median of ${setup.runs.length} x ${total} requests, ${CONCURRENCY} in flight (${CONCURRENCY} technicians, each on an asset of their own)${setup.brokers.length > 1 ? ` split over ${setup.brokers.length} brokers` : ''}${cpu === undefined ? '' : `, broker CPU ${cpu} µs/grant`}; brokers, PostgreSQL and load generator share ${cpus().length} cores${busy === undefined ? '' : `, ${Math.round(busy * 100)}% busy`}`,
  }
}

/**
 * A session ended on `ender` (its device revokes it, as jit exec does when the command exits),
 * timed until a long poll of the revocation stream held open on `watcher` (as a gateway holds
 * one) returns the end. The poll is parked before the revoke is sent, so the figure is the push
 * path: the revoke call and its commit, the wake-up reaching the other broker, its reply.
 */
async function propagation(ender: GrantTarget, watcher: BrokerProcess, verifierToken: string, rounds: number): Promise<{ seen: number[]; acknowledged: number[] }> {
  const auth = { authorization: `Bearer ${verifierToken}` }
  const stream = async (query: string) => {
    const response = await fetch(`${watcher.url}/v1/gateway/revocations${query}`, { headers: auth })
    if (response.status !== 200) throw new Error(`revocation stream on ${watcher.url}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`)
    return (await response.json()) as { head: number; ends: { sessionId: string }[] }
  }
  const seen: number[] = []
  const acknowledged: number[] = []
  for (let round = 0; round < rounds; round++) {
    const grant = await ender.pool.request({ path: GRANT_PATH, method: 'POST', headers: { 'content-type': 'application/json', authorization: deviceAssertion(ender.key as never, 'POST', GRANT_PATH, GRANT_BODY, ender.key.audience) }, body: GRANT_BODY })
    const granted = (await grant.body.json()) as { grant?: { session: { id: string } } }
    const sessionId = granted.grant?.session.id
    if (grant.statusCode !== 201 || !sessionId) throw new Error(`expected a grant (201), got HTTP ${grant.statusCode}`)
    let since = (await stream('')).head
    const poll = () => stream(`?since=${since}&wait=20`).then((batch) => ({ batch, at: nowMs() }))
    let pending = poll()
    await new Promise((resolve) => setTimeout(resolve, 30)) // the poll is parked on the watcher
    const path = `/v1/sessions/${sessionId}/revoke`
    const body = JSON.stringify({ reason: 'bench' })
    const start = nowMs()
    const revoked = await ender.pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json', authorization: deviceAssertion(ender.key as never, 'POST', path, body, ender.key.audience) }, body })
    const revokedText = await revoked.body.text()
    if (revoked.statusCode !== 200) throw new Error(`revoke on the first broker: HTTP ${revoked.statusCode} ${revokedText.slice(0, 300)}`)
    acknowledged.push(nowMs() - start)
    for (;;) {
      const { batch, at } = await pending
      if (batch.ends.some((end) => end.sessionId === sessionId)) {
        seen.push(at - start)
        break
      }
      if (at - start > 20_000) throw new Error(`session ${sessionId} ended on one broker did not reach the other's revocation stream within 20 s`)
      since = batch.head
      pending = poll()
    }
  }
  return { seen, acknowledged }
}

function propagationRow(name: string, result: { seen: number[]; acknowledged: number[] }, baseline?: { name: string; value: number }): BenchRow {
  const p50 = percentile(result.seen, 50)
  const p99 = percentile(result.seen, 99)
  return {
    section: SECTION,
    name,
    value: p50,
    unit: 'ms',
    p50,
    p99,
    ...(baseline ? { baseline, ratio: p50 / baseline.value } : {}),
    target: `p99 < ${PROPAGATION_GOAL_MS} ms`,
    met: p99 < PROPAGATION_GOAL_MS,
    note: `${result.seen.length} session ends, revoke sent → long poll returned it; revoke acknowledged p50 ${percentile(result.acknowledged, 50).toFixed(1)} ms`,
  }
}

const severalBrokers: Section = async ({ quick, root }) => {
  const warmup = quick ? 20 : 300
  const total = quick ? 40 : 1500
  const repetitions = quick ? 1 : 3
  const rounds = quick ? 3 : 100
  const rows: BenchRow[] = []
  const setups: Setup[] = []
  let postgres: TestPostgres | undefined
  try {
    const sqlite = await setUp('one broker, SQLite', [await startBrokerProcess(root)])
    setups.push(sqlite)
    let onPostgres: { one: Setup; two: Setup } | undefined
    let postgresFailure: string | undefined
    try {
      postgres = await startPostgres()
      const database = (name: string) => ({ url: postgres!.createDatabase(name), password: postgres!.password })
      const one = await setUp('one broker, PostgreSQL', [await startBrokerProcess(root, undefined, { database: database('bench_one'), issuer: ISSUER })])
      setups.push(one)
      const two = await setUp('two brokers, one PostgreSQL', await startPair(root, database('bench_two')))
      setups.push(two)
      onPostgres = { one, two }
    } catch (error) {
      postgresFailure = `PostgreSQL part not measured: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`
    }

    // Warm-up (JIT, statement caches, connections), then the configurations take turns, run by
    // run, so a burst of noise from the other work on this machine hits them all alike.
    for (const setup of setups) await driveGrants(setup.targets, CONCURRENCY, warmup)
    for (let i = 0; i < repetitions; i++) {
      for (const setup of setups) setup.runs.push(await driveGrants(setup.targets, CONCURRENCY, total, setup.brokers.map((b) => b.child.pid)))
    }
    rows.push(grantRow(sqlite, total))
    if (onPostgres) {
      rows.push(grantRow(onPostgres.one, total, { setup: sqlite, name: 'one SQLite broker' }))
      rows.push(grantRow(onPostgres.two, total, { setup: onPostgres.one, name: 'one PostgreSQL broker' }, SCALE_GOAL))
    }

    // The stream on one SQLite broker: the floor a second broker's stream adds its hop to.
    const local = await propagation(sqlite.targets[0], sqlite.brokers[0], await sqlite.brokers[0].addVerifier('bench-gateway'), rounds)
    const localRow = propagationRow('session end → revocation stream, same broker (SQLite)', local)
    rows.push(localRow)
    if (onPostgres) {
      const b = onPostgres.two.brokers[1]
      const across = await propagation(onPostgres.two.targets[0], b, await b.addVerifier('bench-gateway'), rounds)
      rows.push(propagationRow(`session end on broker A → broker B's revocation stream (PostgreSQL)`, across, { name: 'same broker, SQLite', value: localRow.p50! }))
    }
    if (postgresFailure) throw new PartialSectionError(postgresFailure, rows)
    return rows
  } catch (error) {
    if (error instanceof PartialSectionError) throw error
    throw new PartialSectionError((error as Error).message, rows)
  } finally {
    for (const setup of setups) await tearDown(setup)
    await postgres?.stop()
  }
}

export default severalBrokers
