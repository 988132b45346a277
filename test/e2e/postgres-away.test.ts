// A broker on PostgreSQL whose database goes away: it stays up, its health check and every call
// answer 503 "unavailable" in jit's words (no driver text, no database address), the CLI exits 5
// saying so, and nothing of the database's password reaches the log.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { startPostgres, type TestPostgres } from './postgres.js'

let server: TestPostgres
let broker: TestBroker
let alice: string
const scratch = tempDir('jit-away-')

beforeAll(async () => {
  server = await startPostgres()
  const passwordFile = join(scratch, 'db-password')
  writeFileSync(passwordFile, `${server.password}\n`, { mode: 0o600 })
  broker = await startBroker({ database: { url: server.createDatabase('away'), passwordFile } })
  alice = await broker.enroll('alice', ['technician'])
})

afterAll(async () => {
  await broker?.stop()
  await server?.stop()
  cleanup(scratch)
})

describe('the database goes away', () => {
  it('answers 503 unavailable, health check included, stays up, and the CLI exits 5', async () => {
    expect((await fetch(`${broker.url}/healthz`)).status).toBe(200)
    expect((await jit(['whoami', '--json'], { home: alice })).code).toBe(0)
    await server.stop()

    const health = await fetch(`${broker.url}/healthz`)
    expect(health.status).toBe(503)
    const problem = (await health.json()) as { code: string; detail: string }
    expect(problem.code).toBe('unavailable')
    expect(problem.detail).toMatch(/cannot reach its database/)
    expect(JSON.stringify(problem)).not.toContain(String(server.port))

    const whoami = await jit(['whoami', '--json'], { home: alice })
    expect(whoami.code).toBe(5)
    expect(whoami.stderr + whoami.stdout).toMatch(/cannot reach its database/)
    const request = await jit(['request', '--ticket', 'WO-1', '--asset', 'plant-a/line-3/cell-2/plc-07', '--scope', 'diagnose', '--ttl', '10m', '--reason', 'x', '--json'], { home: alice })
    expect(request.code).toBe(5)

    // Still up after some sweeps without its database; the password never in its log.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(broker.process.exitCode).toBeNull()
    expect(broker.process.signalCode).toBeNull()
    expect(broker.log()).not.toContain(server.password)
  })
})
