// Ticket closed → its session inactive (target: under 5 s), by each way a ticket closes: a signed
// event from the ticket system (POST /v1/tickets/events), the built-in register closed over the
// API by a maintenance planner, the register closed on the data folder (the running broker
// notices on its sweep, once a second), and the poll of an external system (the generic HTTP
// connector against a small ticket service on loopback, poll_interval 1s). Everything is real: a
// broker process on loopback with SQLite (fsync on commit), device-signed calls, a verifier
// polling introspection.
//
// Per run: a fresh ticket, a session opened for it (auto-approved), then the clock starts as the
// close is sent and stops when introspection first says inactive (polled back to back, one call
// in flight). The paths that wait for a timer (sweep, poll) close after a random pause, so the
// close falls anywhere in the timer's period rather than always just after a tick.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { addUser, addVerifier, openStore } from '../../dist/src/broker/admin.js'
import { SqliteAsyncStore } from '../../dist/src/broker/store/sqlite-async-store.js'
import { registerOnDataFolder } from '../../dist/src/broker/tickets/operator.js'
import { deviceAssertion } from '../../dist/src/cli/device/device-key.js'
import { TICKET_SIGNATURE_HEADER, signTicketEvent } from '../../dist/src/wire/tickets.js'
import { nowMs, percentile, type BenchRow, type Section } from '../lib.ts'
import { ASSET, startBrokerProcess } from '../support.ts'

const TARGET_MS = 5000
const SECRET_ENV = 'JIT_BENCH_WORKORDER_SECRET'

const POLICY = `version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
    - { system: cmms, pattern: '^MO-[0-9]{6}$' }
  systems:
    workorder: { connector: builtin, webhook_secret: { env: ${SECRET_ENV} } }
    cmms:
      connector: http
      url_template: CMMS_URL/orders/{id}
      state_path: status
      assignee_path: assignee
      asset_path: asset
      poll_interval: 1s
      cache_ttl: 0s
rules:
  - name: line3-diagnose
    who: { roles: [technician] }
    assets: ['plant-a/line-3/**']
    scopes: [read, diagnose]
    max_ttl: 2h
`

const NOTES: Record<Path, string> = {
  webhook: 'the signed event ends the session in its own transaction',
  'register (API)': 'the close ends the session in the same transaction',
  'register (data folder)': 'the broker sweeps closed register tickets once a second',
  'poll (HTTP connector)': 'the broker polls the open sessions\' tickets every poll_interval (1s)',
}

type Key = { deviceId: string; privateKey: unknown }
type Path = 'webhook' | 'register (API)' | 'register (data folder)' | 'poll (HTTP connector)'

const tickets: Section = async ({ quick, root }) => {
  process.env[SECRET_ENV] = randomUUID()
  // The external ticket system of the poll path: one JSON document per order.
  const orders = new Map<string, string>()
  const cmms = createServer((request, response) => {
    const id = decodeURIComponent(request.url!.split('/').pop()!)
    const status = orders.get(id)
    response.writeHead(status ? 200 : 404, { 'content-type': 'application/json' })
    response.end(JSON.stringify(status ? { id, status, assignee: 'tess', asset: ASSET } : { error: 'no such order' }))
  })
  await new Promise<void>((ready) => cmms.listen(0, '127.0.0.1', ready))
  const cmmsUrl = `http://127.0.0.1:${(cmms.address() as { port: number }).port}`
  const broker = await startBrokerProcess(root, POLICY.replace('CMMS_URL', cmmsUrl))
  try {
    const tech = await broker.enrollDevice('tess')
    const planner = await broker.enrollDevice('pia')
    const admin = new SqliteAsyncStore(openStore(broker.dataDir))
    let verifierToken: string
    try {
      await addUser(admin, { name: 'pia', roles: ['maintenance-planner'], disabled: false })
      verifierToken = (await addVerifier(admin, 'bench-gateway')).token
    } finally {
      await admin.close()
    }

    const signed = async (key: Key, path: string, body: unknown) => {
      const text = JSON.stringify(body)
      const response = await fetch(`${broker.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: deviceAssertion(key as never, 'POST', path, text, broker.url) },
        body: text,
      })
      const json = (await response.json()) as any
      if (response.status >= 300) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(json)}`)
      return json
    }
    const active = async (token: string) => {
      const response = await fetch(`${broker.url}/v1/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${verifierToken}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      })
      return ((await response.json()) as { active: boolean }).active
    }

    let serial = 300000
    const oneRun = async (path: Path): Promise<number> => {
      const polled = path === 'poll (HTTP connector)'
      const ticket = `${polled ? 'MO' : 'WO'}-${serial++}`
      if (polled) orders.set(ticket, 'in-progress')
      else await registerOnDataFolder.add({ data: broker.dataDir }, { id: ticket, asset: ASSET, assignee: 'tess', title: 'bench' })
      const granted = await signed(tech, '/v1/requests', { ticket, asset: ASSET, scope: 'diagnose', ttlSeconds: 600, reason: 'bench' })
      const token = granted.grant.credential as string
      if (!(await active(token))) throw new Error('the session was not active after it opened')
      if (polled || path === 'register (data folder)') await new Promise((r) => setTimeout(r, Math.random() * 1000))
      const started = nowMs()
      if (path === 'webhook') {
        const body = JSON.stringify({ system: 'workorder', eventId: randomUUID(), ticket, state: 'closed', timestamp: Math.floor(Date.now() / 1000) })
        const response = await fetch(`${broker.url}/v1/tickets/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [TICKET_SIGNATURE_HEADER]: signTicketEvent(process.env[SECRET_ENV]!, body) },
          body,
        })
        if (response.status !== 200) throw new Error(`the event was refused: HTTP ${response.status} ${await response.text()}`)
      } else if (path === 'register (API)') {
        await signed(planner, `/v1/tickets/${ticket}/close`, {})
      } else if (path === 'register (data folder)') {
        await registerOnDataFolder.setState({ data: broker.dataDir }, ticket, 'closed')
      } else {
        orders.set(ticket, 'closed')
      }
      while (await active(token)) {
        if (nowMs() - started > 30_000) throw new Error(`${path}: the session was still active 30 s after its ticket closed`)
      }
      return nowMs() - started
    }

    const paths: Path[] = ['webhook', 'register (API)', 'register (data folder)', 'poll (HTTP connector)']
    const runs = quick ? 3 : 40
    const warmup = quick ? 1 : 3
    const samples = new Map<Path, number[]>(paths.map((p) => [p, []]))
    for (let round = 0; round < warmup + runs; round++) {
      for (const path of paths) {
        const ms = await oneRun(path)
        if (round >= warmup) samples.get(path)!.push(ms)
      }
    }
    return paths.map((path): BenchRow => {
      const values = samples.get(path)!
      const p50 = percentile(values, 50)
      const p99 = percentile(values, 99)
      return {
        section: 'tickets',
        name: `ticket closed → session inactive, ${path}`,
        value: p50,
        unit: 'ms',
        p50,
        p99,
        target: `< ${TARGET_MS} ms`,
        met: quick ? undefined : p99 < TARGET_MS,
        note: `${runs} runs; ${NOTES[path]}; polled by a verifier`,
      }
    })
  } finally {
    await broker.stop()
    cmms.close()
    delete process.env[SECRET_ENV]
  }
}

export default tickets
