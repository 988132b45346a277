// A broker on PostgreSQL whose database stops while calls are in flight: grants, approvals, an
// approval's long poll and a gateway's revocation long poll. Twenty rounds, the database stopped
// cleanly (fast shutdown) and SIGKILLed in turn. Every call answers, or fails with 503
// unavailable; the broker stays up through every round and serves again once the database is
// back; and everything it acknowledged is in the database.
//
// A client checked out of the pool for a transaction or a snapshot had no listener for its
// connection's failure, so a stop in the middle of one was an uncaught exception that ended the
// broker for good.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/audit/chain.js'
import { addUser, enrollmentCode } from '../../src/broker/admin.js'
import { CliContext } from '../../src/cli/context.js'
import { login } from '../../src/cli/device/login.js'
import { MemoryKeychain } from '../../src/cli/keychain/keychain.js'
import type { RequestResult } from '../../src/wire/api.js'
import { PLC, cleanup, startBroker, tempDir, type TestBroker } from './harness.js'
import { startPostgres, type TestPostgres } from './postgres.js'

const ROUNDS = 20
let server: TestPostgres
let broker: TestBroker
let verifierToken: string
let databaseName: string
const scratch = tempDir('jit-away-load-')
const keychain = new MemoryKeychain()
const previousHome = process.env.JIT_HOME

const ask = (scope: string, reason: string) => ({ ticket: 'WO-104233', asset: PLC, scope, ttlSeconds: 600, reason })

async function enrollHere(name: string, roles: string[]): Promise<CliContext> {
  const code = await broker.withStore(async (store) => {
    await addUser(store, { name, roles, disabled: false })
    return (await enrollmentCode(store, name, 600)).code
  })
  await login(new CliContext({ profile: name }, keychain), broker.url, code, `${name}-laptop`)
  return new CliContext({ profile: name, broker: broker.url }, keychain)
}

beforeAll(async () => {
  process.env.JIT_HOME = join(scratch, 'cli')
  server = await startPostgres()
  const passwordFile = join(scratch, 'db-password')
  writeFileSync(passwordFile, `${server.password}\n`, { mode: 0o600 })
  databaseName = 'away_load'
  broker = await startBroker({ database: { url: server.createDatabase(databaseName), passwordFile } })
  verifierToken = await broker.addVerifier('gateway-line-3')
}, 120_000)

afterAll(async () => {
  await broker?.stop()
  await server?.stop()
  if (previousHome === undefined) delete process.env.JIT_HOME
  else process.env.JIT_HOME = previousHome
  cleanup(scratch)
})

/** What a failed call says: only the broker's "cannot reach its database" (its 503 unavailable) is allowed. */
function failureOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

async function revocationPoll(since: number): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${broker.url}/v1/gateway/revocations?since=${since}&wait=1`, { headers: { authorization: `Bearer ${verifierToken}` } })
  const body = (await response.json()) as { code?: string }
  return { status: response.status, code: body.code }
}

describe('the database stops under load', () => {
  it(`${ROUNDS} rounds, fast shutdown and SIGKILL in turn: 503 unavailable for every caller, the broker stays up and serves again, nothing acknowledged lost`, async () => {
    const technicians = await Promise.all(['tess', 'toby', 'tina'].map((name) => enrollHere(name, ['technician'])))
    const lead = await enrollHere('lee', ['shift-lead'])
    const [tess, toby, tina] = await Promise.all(technicians.map((cli) => cli.client()))
    const leeClient = await lead.client()
    const granted: string[] = []
    const approved: string[] = []

    for (let round = 0; round < ROUNDS; round++) {
      const how = round % 2 === 0 ? 'fast' : 'kill'
      const failures: string[] = []
      const leftovers: string[] = []
      let halted = false
      // Each worker calls until its first failure, which must come after the stop and be a 503.
      const worker = async (name: string, call: () => Promise<void>) => {
        for (;;) {
          try {
            await call()
          } catch (error) {
            failures.push(`${name}: ${failureOf(error)}${halted ? '' : ' (before the stop)'}`)
            return
          }
          if (halted) await new Promise((r) => setTimeout(r, 20))
        }
      }
      const grants = [tess, toby].map((client, w) =>
        worker(`grant ${w}`, async () => {
          const { grant } = await client.post<RequestResult>('/requests', ask('read', `round ${round}`))
          granted.push(grant!.session.id)
        }),
      )
      const approvals = worker('approval', async () => {
        const { request } = await tina.post<RequestResult>('/requests', ask('control', `round ${round}`))
        leftovers.push(request.id)
        const decided = await leeClient.post<RequestResult>(`/requests/${request.id}/approve`, { comment: 'ok' })
        expect(decided.request.state).toBe('approved')
        approved.push(request.id)
      })
      const waiting = (await tess.post<RequestResult>('/requests', ask('control', `waits ${round}`))).request.id
      leftovers.push(waiting)
      const longPoll = worker('long poll', async () => {
        await tess.get<RequestResult>(`/requests/${waiting}?wait=1`)
      })
      const head = ((await (await fetch(`${broker.url}/v1/gateway/revocations`, { headers: { authorization: `Bearer ${verifierToken}` } })).json()) as { head: number }).head
      const follower = worker('revocation poll', async () => {
        const { status, code } = await revocationPoll(head)
        if (status !== 200) throw new Error(`HTTP ${status} ${code}`)
      })

      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 200)))
      // Failures may come while the server shuts down: the stop begins here.
      halted = true
      await server.halt(how)
      await Promise.all([...grants, approvals, longPoll, follower])

      expect(failures, `round ${round} (${how})`).toHaveLength(5)
      for (const failure of failures) {
        // The revocation poll speaks HTTP directly; the others through the CLI's client.
        expect(failure, `round ${round} (${how})`).toMatch(/cannot reach its database\.$|^revocation poll: HTTP 503 unavailable$/)
      }
      expect(broker.process.exitCode, `round ${round} (${how}): ${broker.log().slice(-1500)}`).toBeNull()
      expect(broker.process.signalCode).toBeNull()

      // Back: the health check answers within moments, and so does a grant.
      await server.resume()
      const back = Date.now()
      while ((await fetch(`${broker.url}/healthz`)).status !== 200) {
        expect(Date.now() - back, `round ${round}: healthy again`).toBeLessThan(15_000)
        await new Promise((r) => setTimeout(r, 50))
      }
      const after = await toby.post<RequestResult>('/requests', ask('read', `after round ${round}`))
      granted.push(after.grant!.session.id)
      for (const id of leftovers) await (id === waiting ? tess : tina).post(`/requests/${id}/cancel`, {}).catch(() => {})
    }

    // Everything acknowledged is in the database: each granted session, each approval with its session.
    const list = (ids: string[]) => ids.map((id) => `'${id}'`).join(',')
    expect(granted.length).toBeGreaterThan(ROUNDS)
    expect(approved.length).toBeGreaterThan(0)
    const sessions = server.psql(`SELECT count(*) FROM sessions WHERE id IN (${list(granted)})`, databaseName)
    expect(Number(sessions)).toBe(granted.length)
    const decided = server.psql(`SELECT count(*) FROM requests r JOIN sessions s ON s.request_id = r.id WHERE r.state = 'approved' AND r.id IN (${list(approved)})`, databaseName)
    expect(Number(decided)).toBe(approved.length)
    // And the audit chain, written by transactions cut off twenty times, verifies end to end.
    const events = await broker.withStore((store) => store.auditLog.events())
    const verified = verifyChain(events)
    expect(verified, JSON.stringify(verified.firstBad)).toMatchObject({ ok: true, events: events.length })
    expect(broker.log()).not.toContain(server.password)
  }, 150_000)
})
