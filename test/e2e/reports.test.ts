// The auditor's reports end to end: a real broker and CLI. The identity inventory over people,
// devices, verifiers, a gateway and the broker's keys, with its flags; a session's evidence file,
// verified on its own by `jit audit verify --file`, and refused (exit 10) once a byte is changed
// or a record removed.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, startBroker, type TestBroker } from './harness.js'

let broker: TestBroker
let ada: string
let tess: string
let vic: string
let sessionId: string
const FORTY_DAYS_AGO = new Date(Date.now() - 40 * 86_400_000).toISOString()

interface Row { kind: string; id: string; owner: string | null; state: string; lastUsed: string | null; flags: string[]; reach: { rule: string; scopes: string[]; assets: string[] }[]; holds: { session: string }[] }

beforeAll(async () => {
  broker = await startBroker()
  ada = await broker.enroll('ada', ['admin'])
  tess = await broker.enroll('tess', ['technician'])
  vic = await broker.enroll('vic', ['technician'])
  const gatewayToken = await broker.addVerifier('gateway-line-3')
  await broker.addVerifier('jump-host')
  await broker.withStore(async (store) => {
    // Test set-up: a person and a verifier made forty days ago and never used since, and the gateway's announcement.
    await store.users.upsert({ name: 'olga', roles: ['technician'], disabled: false })
    await store.execute('UPDATE users SET created_at = ? WHERE name = ?', [FORTY_DAYS_AGO, 'olga'])
    await store.execute('UPDATE verifiers SET created_at = ? WHERE name = ?', [FORTY_DAYS_AGO, 'jump-host'])
    await store.execute('INSERT INTO gateways (name, address, cert_sha256, announced_at) VALUES (?,?,?,?)', ['gateway-line-3', '127.0.0.1:1', 'ab'.repeat(32), new Date().toISOString()])
  })
  const granted = await jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'read fault log', '--json'], { home: tess })
  expect(granted.code, granted.stderr).toBe(0)
  sessionId = granted.json().session.id
  const token = (await jit(['credential', sessionId, '--format', 'raw'], { home: tess })).stdout.trim()
  expect((await introspect(broker, token, gatewayToken)).active).toBe(true)
  // The gateway's connection record, as its route writes it: the connection, its end and its recording.
  await broker.withStore((store) => store.transaction((tx) => tx.appendAudit({
    type: 'gateway.connection', actor: 'verifier:gateway-line-3', sessionId,
    data: { connectionId: 'c1', asset: PLC, endCause: 'revoked', recording: { file: 'c1.pcap', bytes: 10, sha256: 'ab'.repeat(32) } },
  })))
  expect((await jit(['admin', 'user', 'disable', 'vic', '--reason', 'left', '--json'], { home: ada })).code).toBe(0)
  // More traffic after the session: these records sit between the session's and the checkpoint.
  expect((await jit(['request', '--ticket', 'WO-104234', '--asset', PLC, '--scope', 'read', '--ttl', '10m', '--reason', 'other', '--json'], { home: tess })).code).toBe(0)
  expect((await jit(['revoke', sessionId, '--json'], { home: tess })).code).toBe(0)
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, ada, tess, vic)
})

describe('jit report identities', () => {
  it('lists people, devices, verifiers, the gateway and the broker\'s keys with the right flags', async () => {
    const result = await jit(['report', 'identities', '--json'], { home: ada })
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const report = result.json() as { sources: string[]; reachEvaluated: boolean; identities: Row[] }
    expect(report.sources).toEqual(expect.arrayContaining(['person', 'device', 'verifier', 'gateway', 'signing-key', 'ssh-ca-key']))
    const find = (kind: string, id: string) => report.identities.find((i) => i.kind === kind && i.id === id)!

    expect(find('person', 'olga').flags).toEqual(['never-used', 'unused'])
    const tessRow = find('person', 'tess')
    expect(tessRow.lastUsed).not.toBeNull()
    expect(tessRow.flags).toEqual([])
    expect(tessRow.holds.map((h) => h.session)).not.toContain(sessionId) // revoked: no longer held
    expect(tessRow.holds).toHaveLength(1)
    // Reach without approval: the diagnose rule, not the one that needs a shift lead.
    expect(tessRow.reach.map((r) => r.rule)).toEqual(['line3-diagnose'])
    expect(tessRow.reach[0]).toMatchObject({ scopes: ['read', 'diagnose'], assets: [PLC] })
    expect(find('person', 'ada').reach).toEqual([])

    expect(find('person', 'vic').state).toBe('disabled')
    const vicDevice = report.identities.find((i) => i.kind === 'device' && i.owner === 'vic')!
    expect(vicDevice.flags).toContain('owner-disabled')
    expect(report.identities.find((i) => i.kind === 'device' && i.owner === 'tess')!.flags).not.toContain('owner-disabled')

    const gateway = find('gateway', 'gateway-line-3')
    expect(gateway.lastUsed).not.toBeNull()
    expect(gateway.flags).toEqual(['standing'])
    expect(find('verifier', 'jump-host').flags).toEqual(['never-used', 'unused', 'standing'])
    expect(find('signing-key', 'signing-key.pem').lastUsed).not.toBeNull()
  })

  it('--unused-days moves the line; CSV has one line an identity; --data reads the same; only admin and security', async () => {
    const wide = await jit(['report', 'identities', '--unused-days', '60', '--json'], { home: ada })
    expect((wide.json().identities as Row[]).find((i) => i.id === 'olga')!.flags).toEqual(['never-used'])

    const csv = await jit(['report', 'identities', '--csv'], { home: ada })
    expect(csv.code, csv.stderr).toBe(0)
    const lines = csv.stdout.trim().split('\n')
    expect(lines[0]).toBe('kind,id,owner,state,created,last_used,key_created,flags,reach,holds')
    expect(lines.find((l) => l.startsWith('person,olga,'))).toMatch(/,never-used;unused,/)

    const offline = await jit(['report', 'identities', ...broker.storeArgs, '--policy', join(process.cwd(), 'test/fixtures/policy.yaml'), '--json'])
    expect(offline.code, offline.stderr).toBe(0)
    expect((offline.json().identities as Row[]).find((i) => i.id === 'jump-host')!.flags).toEqual(['never-used', 'unused', 'standing'])

    const refused = await jit(['report', 'identities', '--json'], { home: tess })
    expect(refused.code).toBe(3)
  })
})

describe('jit report session', () => {
  let file: string
  let text: string

  beforeAll(async () => {
    file = join(ada, 'evidence.jsonl')
    const made = await jit(['report', 'session', sessionId, '--output', file, '--json'], { home: ada })
    expect(made.code, made.stderr).toBe(0)
    text = readFileSync(file, 'utf8')
  })

  const verify = async (content: string, extra: string[] = []) => {
    const path = join(ada, `check-${Math.random().toString(36).slice(2)}.jsonl`)
    writeFileSync(path, content)
    return jit(['audit', 'verify', '--file', path, ...extra, '--json'], { home: ada })
  }

  it('holds the request, decision, approval, credential, uses and end of the session, and verifies on its own', async () => {
    const lines = text.trim().split('\n').map((line) => JSON.parse(line))
    const head = lines[0]
    const session = head.summary.sessions[0]
    expect(session).toMatchObject({ id: sessionId, user: 'tess', asset: PLC, scope: 'diagnose', ticket: 'WO-104233' })
    expect(session.request.data).toMatchObject({ reason: 'read fault log' })
    expect(session.decision[0]).toMatchObject({ rule: 'line3-diagnose', allow: true, policyVersion: expect.any(String) })
    expect(session.approvals[0]).toMatchObject({ type: 'request.approved' })
    expect(session.credential.issued).toHaveLength(1)
    expect(session.uses.verifications[0]).toMatchObject({ verifier: 'gateway-line-3' })
    expect(session.ended).toMatchObject({ state: 'revoked', by: 'tess' })
    expect(session.ended.records.map((r: { type: string }) => r.type)).toEqual(['gateway.connection', 'session.revoked'])
    expect(session.ended.layers).toEqual([expect.objectContaining({ asset: PLC, cause: expect.any(String) })])
    expect(session.recordings[0]).toMatchObject({ type: 'gateway.connection', recording: { file: 'c1.pcap' } })
    expect(head.summary.iec62443).toHaveProperty(['SR 2.6 remote session termination'])
    // The other request's records sit between the session's, redacted to their hashes.
    const redacted = lines.filter((l) => l.record === 'redacted')
    expect(redacted.length).toBeGreaterThan(0)
    expect(JSON.stringify(redacted)).not.toContain('WO-104234')
    expect(lines[lines.length - 1].record).toBe('checkpoint')

    const ok = await verify(text)
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(ok.json()).toMatchObject({ ok: true, anchoredAt: { seq: lines[lines.length - 1].seq } })
    // Pinned to the broker's published key.
    const jwks = join(ada, 'jwks.json')
    writeFileSync(jwks, await (await fetch(`${broker.url}/.well-known/jwks.json`)).text())
    const pinned = await verify(text, ['--jwks', jwks])
    expect(pinned.code, pinned.stdout + pinned.stderr).toBe(0)
    expect(pinned.json().anchoredBy).toEqual(['key'])
  })

  it('fails (exit 10) after a byte is changed anywhere or a record is removed', async () => {
    const lines = text.trim().split('\n')
    // A byte in each kind of line: the summary, a full record, a redacted record, the checkpoint.
    const eventLine = lines.findIndex((l) => l.startsWith('{"record":"event"'))
    const redactedLine = lines.findIndex((l) => l.startsWith('{"record":"redacted"'))
    const changes = [
      text.replace('read fault log', 'read fault loh'),
      text.replace(lines[eventLine], lines[eventLine].replace('"severity":"info"', '"severity":"infx"')),
      text.replace(lines[redactedLine], lines[redactedLine].replace(/"hash":"(.)/, (_m, c) => `"hash":"${c === 'a' ? 'b' : 'a'}`)),
      text.replace(/"at":"(20\d\d)/g, (m, y, offset) => (offset > text.lastIndexOf('{"record":"checkpoint"') ? `"at":"${Number(y) + 1}` : m)),
    ]
    for (const changed of changes) {
      expect(changed).not.toBe(text)
      const result = await verify(changed)
      expect(result.code, result.stdout).toBe(10)
    }
    // Records removed: one of the session's, one redacted one, the checkpoint.
    for (const index of [eventLine, redactedLine, lines.length - 1]) {
      const result = await verify(`${lines.filter((_, i) => i !== index).join('\n')}\n`)
      expect(result.code, result.stdout).toBe(10)
    }
  })

  it('a work order gathers its sessions; an unknown session is not found; --data writes a file that verifies too', async () => {
    const order = await jit(['report', 'session', '--ticket', 'WO-104233'], { home: ada })
    expect(order.code, order.stderr).toBe(0)
    expect(JSON.parse(order.stdout.split('\n')[0]).summary.sessions.map((s: { id: string }) => s.id)).toEqual([sessionId])
    const missing = await jit(['report', 'session', 'ses_nope', '--json'], { home: ada })
    expect(missing.code).toBe(2)
    expect(missing.json().error.message).toMatch(/Session ses_nope was not found/)
    expect((await jit(['report', 'session', '--json'], { home: ada })).code).toBe(2)
    const offline = await jit(['report', 'session', sessionId, ...broker.storeArgs])
    expect(offline.code, offline.stderr).toBe(0)
    expect((await verify(offline.stdout)).code).toBe(0)
  })
})
