// Workloads as principals: registered with an owner, enrolled by a one-time join token (the key
// in a folder only the workload's user reads), running jobs with `jit run` that are decided by the
// one session gate (workload selectors, intent, source host, a person's approval) and revoked on
// every exit path, refused once disabled, and audited under their SPIFFE ID. Real broker and CLI
// processes, real store.
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { latestSessionOf, sessionRow, waitFor, waitForFile } from './revocation-helpers.js'
import { deviceAssertion } from '../../src/cli/device/device-key.js'
import { loadWorkloadEnrollment } from '../../src/cli/workload/workload-folder.js'

const TD = 'plant-a.example'
const FW = `spiffe://${TD}/workload/fw-updater`
const POLICY = `version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
rules:
  - name: people-control
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [control, read]
    max_ttl: 2h
  - name: firmware
    who: { workloads: { spiffe_ids: ['spiffe://${TD}/workload/fw-*'] } }
    assets: ['plant-a/line-3/**']
    scopes: [control]
    max_ttl: 30m
    conditions: { intent: [firmware-update], source_host: [127.0.0.0/8] }
  - name: reads-from-the-plant-network-only
    who: { workloads: { names: [fw-updater] } }
    assets: ['plant-a/line-3/**']
    scopes: [read]
    max_ttl: 30m
    conditions: { source_host: [10.99.0.0/16] }
  - name: approved-diagnosis
    who: { workloads: { owners: [alice] } }
    assets: ['plant-a/line-3/**']
    scopes: [diagnose]
    max_ttl: 30m
    approval: { count: 1, from_roles: [shift-lead] }
`

let broker: TestBroker
let alice: string
let bob: string
let host: string
let verifierToken: string
const LONG = 'sleep 30 </dev/null >/dev/null 2>&1'
const job = (extra: string[] = []) => ['run', '--workload', 'fw-updater', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'control', '--ttl', '10m', '--intent', 'firmware-update', ...extra]

async function admin(args: string[]) {
  return jit(['admin', 'workload', ...args, ...broker.storeArgs, '--json'])
}

async function joinToken(name: string): Promise<string> {
  const made = await admin(['join-token', name])
  expect(made.code).toBe(0)
  return made.json().token as string
}

async function enrollOn(home: string, name: string, token: string) {
  const file = join(home, 'token')
  writeFileSync(file, token, { mode: 0o600 })
  return jit(['workload', 'enroll', name, '--broker', broker.url, '--token-file', file, '--json'], { home })
}

beforeAll(async () => {
  const dir = tempDir('jit-wl-policy-')
  writeFileSync(join(dir, 'policy.yaml'), POLICY)
  broker = await startBroker({ policy: join(dir, 'policy.yaml'), args: ['--trust-domain', TD] })
  alice = await broker.enroll('alice', ['technician', 'admin'])
  bob = await broker.enroll('bob', ['shift-lead'])
  verifierToken = await broker.addVerifier('gateway-line-3')
  const added = await admin(['add', 'fw-updater', '--owner', 'alice', '--attest', 'join-token', '--trust-domain', TD])
  expect(added.code).toBe(0)
  expect(added.json().spiffeId).toBe(FW)
  host = tempDir('jit-wl-host-')
  const enrolled = await enrollOn(host, 'fw-updater', await joinToken('fw-updater'))
  expect(enrolled.code, enrolled.stderr).toBe(0)
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, alice, bob, host)
})

describe('enrollment by join token', () => {
  it('keeps the key in a folder only the workload user can read', () => {
    const folder = join(host, 'workloads', 'fw-updater')
    expect(statSync(folder).mode & 0o777).toBe(0o700)
    expect(statSync(join(folder, 'key.pem')).mode & 0o777).toBe(0o600)
  })

  it('a join token enrolls once: a copied token is useless afterwards', async () => {
    const token = await joinToken('fw-updater')
    const first = tempDir('jit-wl-first-')
    expect((await enrollOn(first, 'fw-updater', token)).code).toBe(0)
    const thief = tempDir('jit-wl-thief-')
    const second = await enrollOn(thief, 'fw-updater', token)
    expect(second.code).toBe(9)
    expect(second.json().error.message).toMatch(/unknown, already used or expired/)
    // With the token and no key there is nothing to sign a job with.
    const run = await jit([...job(), '--json', '--', 'true'], { home: thief })
    expect(run.code).toBe(9)
    expect(run.json().error.message).toMatch(/not enrolled on this host/)
    cleanup(first, thief)
  })

  it('refuses a workload key that others could read, or that belongs to another user', async () => {
    const stolen = tempDir('jit-wl-stolen-')
    const folder = join(stolen, 'fw')
    mkdirSync(folder, { mode: 0o700 })
    for (const file of ['key.pem', 'workload.json']) copyFileSync(join(host, 'workloads', 'fw-updater', file), join(folder, file))
    chmodSync(join(folder, 'key.pem'), 0o644)
    const loose = await jit([...job(['--dir', folder]), '--json', '--', 'true'], { home: stolen })
    expect(loose.code).toBe(9)
    expect(loose.json().error.message).toMatch(/mode is 644, not 600/)
    chmodSync(join(folder, 'key.pem'), 0o600)
    if (process.getuid?.() === 0) {
      // Another workload's file (another user's) is refused even when this user can open it.
      chownSync(join(folder, 'key.pem'), 65534, 65534)
      const foreign = await jit([...job(['--dir', folder]), '--json', '--', 'true'], { home: stolen })
      expect(foreign.code).toBe(9)
      expect(foreign.json().error.message).toMatch(/belongs to uid 65534/)
    }
    cleanup(stolen)
  })
})

describe('jit run revokes however the job ends', () => {
  const cases: { name: string; script: string; code: number; signal?: NodeJS.Signals; reason: RegExp }[] = [
    { name: 'exit 0', script: 'exit 0', code: 0, reason: /command ended \(exit 0\)/ },
    { name: 'non-zero exit', script: 'exit 3', code: 3, reason: /command ended \(exit 3\)/ },
    { name: 'SIGKILL of the command', script: 'kill -KILL $$', code: 137, reason: /command ended \(SIGKILL\)/ },
    { name: 'SIGTERM to jit', script: LONG, code: 143, signal: 'SIGTERM', reason: /command ended \(SIGTERM\)/ },
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const out = tempDir()
      const script = `printf %s "$JIT_SESSION_ID" > ${out}/sid; printf %s "$JIT_TOKEN" > ${out}/token; ${c.script}`
      const result = await jit([...job(), '--', 'sh', '-c', script], {
        home: host,
        onSpawn: (child) => {
          if (c.signal) void waitForFile(join(out, 'token')).then(() => child.kill(c.signal))
        },
      })
      expect(result.code, result.stderr).toBe(c.code)
      const token = await waitForFile(join(out, 'token'))
      const sid = await waitForFile(join(out, 'sid'))
      expect((await introspect(broker, token, verifierToken)).active).toBe(false)
      const row = await sessionRow(broker, sid)
      expect(row).toMatchObject({ state: 'revoked', ended_by: FW })
      expect(row.end_reason).toMatch(c.reason)
      cleanup(out)
    })
  }
})

describe('the policy decides on the workload, its intent and its source host', () => {
  it('a rule for people never admits a workload', async () => {
    // people-control allows read to technicians; the workload's own read rule wants 10.99.0.0/16.
    const result = await jit(['run', '--workload', 'fw-updater', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'read', '--intent', 'firmware-update', '--json', '--', 'true'], { home: host })
    expect(result.code).toBe(3)
    const reasons = JSON.stringify(result.json().error)
    expect(reasons).toMatch(/allows calls only from 10\.99\.0\.0\/16; this one came from 127\.0\.0\.1/)
    expect(reasons).not.toMatch(/people-control allows/)
  })

  it('denies an intent the rule does not name, allows the one it names', async () => {
    const denied = await jit(['run', '--workload', 'fw-updater', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'control', '--intent', 'backup', '--json', '--', 'true'], { home: host })
    expect(denied.code).toBe(3)
    expect(JSON.stringify(denied.json().error)).toMatch(/allows only the intent firmware-update; backup was declared/)
    const allowed = await jit([...job(), '--json', '--', 'true'], { home: host })
    expect(allowed.code, allowed.stderr).toBe(0)
  })

  it('a person approves a workload\'s job like any request', async () => {
    const out = tempDir()
    const running = jit(['run', '--workload', 'fw-updater', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--intent', 'firmware-update', '--', 'sh', '-c', `printf %s "$JIT_SESSION_ID" > ${out}/sid`], { home: host })
    const pending = await waitFor('the pending request', async () => {
      const list = await jit(['requests', '--pending', '--json'], { home: bob })
      return list.json().requests.find((r: { user: string }) => r.user === FW) as { id: string } | undefined
    })
    const approved = await jit(['approve', pending.id, '--comment', 'firmware window', '--json'], { home: bob })
    expect(approved.code, approved.stderr).toBe(0)
    const result = await running
    expect(result.code, result.stderr).toBe(0)
    expect(await sessionRow(broker, await waitForFile(join(out, 'sid')))).toMatchObject({ state: 'revoked', ended_by: FW })
    cleanup(out)
  })
})

describe('jit policy check', () => {
  it('accepts the workload selector and job conditions, and names a bad source_host by its line', async () => {
    const dir = tempDir('jit-wl-check-')
    writeFileSync(join(dir, 'good.yaml'), POLICY)
    expect((await jit(['policy', 'check', join(dir, 'good.yaml')])).code).toBe(0)
    writeFileSync(join(dir, 'bad.yaml'), POLICY.replace('source_host: [127.0.0.0/8]', 'source_host: [plc-07.local]'))
    const bad = await jit(['policy', 'check', join(dir, 'bad.yaml'), '--json'])
    expect(bad.code).toBe(2)
    expect(bad.json().error.reasons.join('\n')).toMatch(/bad\.yaml:\d+:\d+: "plc-07\.local" is not an IP address or CIDR block/)
    cleanup(dir)
  })
})

describe('disabling a workload', () => {
  it('ends its open session at once and refuses it until enabled', async () => {
    const out = tempDir()
    let child: import('node:child_process').ChildProcess | undefined
    const running = jit([...job(), '--', 'sh', '-c', `printf %s "$JIT_TOKEN" > ${out}/token; ${LONG}`], { home: host, onSpawn: (c) => (child = c) })
    const token = await waitForFile(join(out, 'token'))
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    const disabled = await admin(['disable', 'fw-updater', '--reason', 'compromised host'])
    expect(disabled.code, disabled.stderr).toBe(0)
    expect(disabled.json().sessionsEnded).toHaveLength(1)
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    const sid = await latestSessionOf(broker, FW)
    const ended = await broker.withStore((store) => store.auditLog.events({ sessionId: sid }))
    expect(ended.find((e) => e.type === 'session.revoked')?.data).toMatchObject({ cause: 'workload-disabled' })
    const refused = await jit([...job(), '--json', '--', 'true'], { home: host })
    expect(refused.code).toBe(9)
    expect(refused.json().error.message).toMatch(/workload of this key .* is disabled/)
    // The job itself is stopped by whoever runs it; its credential died with the disable.
    child!.kill('SIGTERM')
    expect((await running).code).not.toBe(0)
    expect((await admin(['enable', 'fw-updater'])).code).toBe(0)
    expect((await jit([...job(), '--', 'true'], { home: host })).code).toBe(0)
    cleanup(out)
  })
})

describe('register and audit', () => {
  it('lists owner, attestation, last use and what it holds', async () => {
    expect((await jit([...job(), '--', 'true'], { home: host })).code).toBe(0)
    const listed = await admin(['list'])
    const fw = listed.json().workloads.find((w: { name: string }) => w.name === 'fw-updater')
    expect(fw).toMatchObject({ owner: 'alice', attest: 'join-token', spiffeId: FW, disabled: false, activeSessions: 0 })
    expect(fw.lastUsedAt).toMatch(/^\d{4}-/)
    // Its principal is not a person: jit admin user list leaves it out.
    expect((await jit(['admin', 'user', 'list', ...broker.storeArgs, '--json'])).json().users.map((u: { name: string }) => u.name)).toEqual(['alice', 'bob'])
  })

  it('the admin API does the same for an admin, in the broker\'s own trust domain; not for others', async () => {
    const api = (args: string[], home = alice) => jit(['admin', 'workload', ...args, '--json'], { home, env: { JIT_DATA: '' } })
    const added = await api(['add', 'historian', '--owner', 'group:plant-ops', '--attest', 'join-token'])
    expect(added.code, added.stderr).toBe(0)
    expect(added.json().spiffeId).toBe(`spiffe://${TD}/workload/historian`)
    expect((await api(['join-token', 'historian'])).json().token).toMatch(/^jt_/)
    expect((await api(['show', 'historian'])).json()).toMatchObject({ owner: 'group:plant-ops', disabled: false, keys: [] })
    const refused = await api(['list'], bob)
    expect(refused.code).not.toBe(0)
    expect(refused.json().error.message).toMatch(/Only the admin role can manage workloads/)
    const removed = await api(['remove', 'historian'])
    expect(removed.code, removed.stderr).toBe(0)
    expect((await api(['list'])).json().workloads.map((w: { name: string }) => w.name)).toEqual(['fw-updater'])
    // Removed for good: the name's SPIFFE ID is not handed out again.
    expect((await api(['add', 'historian', '--owner', 'alice', '--attest', 'join-token'])).code).not.toBe(0)
  })

  it('refuses a workload without a known owner, and a bad name, changing nothing', async () => {
    expect((await admin(['add', 'orphan', '--owner', 'nobody', '--attest', 'join-token'])).code).toBe(2)
    expect((await admin(['add', 'Bad Name', '--owner', 'alice', '--attest', 'join-token'])).code).toBe(2)
    expect((await admin(['list'])).json().workloads.map((w: { name: string }) => w.name)).toEqual(['fw-updater'])
  })

  it('jit audit --workload: issuance, use and end, by the SPIFFE ID with the owner named', async () => {
    const out = tempDir()
    await jit([...job(), '--', 'sh', '-c', `printf %s "$JIT_TOKEN" > ${out}/token`], { home: host })
    // A verifier's check of the credential is its use; this one after the end answers inactive.
    await introspect(broker, await waitForFile(join(out, 'token')), verifierToken)
    const result = await jit(['audit', '--workload', 'fw-updater', '--json'], { home: alice })
    expect(result.code, result.stderr).toBe(0)
    const events = result.json().events as { type: string; actor: string; data: Record<string, unknown> }[]
    const issued = events.filter((e) => e.type === 'session.issued')
    expect(issued.length).toBeGreaterThan(0)
    expect(issued.at(-1)).toMatchObject({ actor: FW, data: { workload: 'fw-updater', owner: 'alice', intent: 'firmware-update' } })
    expect(events.some((e) => e.type === 'session.verified')).toBe(true)
    expect(events.some((e) => e.type === 'session.revoked' && e.actor === FW)).toBe(true)
    // Only the workload's story: alice's own records (her device's enrollment) are not in it.
    expect(events.some((e) => e.actor === 'alice')).toBe(false)
    // Not the owner, not oversight: nothing to see.
    expect((await jit(['audit', '--workload', 'fw-updater', '--json'], { home: bob })).code).not.toBe(0)
    cleanup(out)
  })
})

describe('X.509-SVIDs', () => {
  /** Asks for an SVID as the enrolled workload itself: its key from its folder, a fresh P-256 CSR. */
  async function askForSvid(): Promise<{ status: number; body: { certificate?: string; notAfter?: string; detail?: string } }> {
    const dir = tempDir('jit-wl-csr-')
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'csr.pem'), '-subj', '/'], { stdio: 'ignore' })
    const body = JSON.stringify({ csr: readFileSync(join(dir, 'csr.pem'), 'utf8') })
    cleanup(dir)
    const { key, enrollment } = loadWorkloadEnrollment('fw-updater', join(host, 'workloads', 'fw-updater'))
    const path = '/v1/spiffe/x509-svids'
    const answer = await fetch(`${broker.url}${path}`, { method: 'POST', headers: { authorization: deviceAssertion(key, 'POST', path, body, enrollment.issuer), 'content-type': 'application/json' }, body })
    return { status: answer.status, body: (await answer.json()) as { certificate?: string; notAfter?: string; detail?: string } }
  }

  it('are issued to a workload only inside a session of its own, never past its end', async () => {
    const outside = await askForSvid()
    expect(outside.status, JSON.stringify(outside.body)).toBe(403)
    expect(outside.body.detail).toMatch(/holds no active session/)

    const out = tempDir()
    let child: import('node:child_process').ChildProcess | undefined
    const running = jit([...job(), '--', 'sh', '-c', `printf %s "$JIT_TOKEN" > ${out}/token; ${LONG}`], { home: host, onSpawn: (c) => (child = c) })
    await waitForFile(join(out, 'token'))
    const inside = await askForSvid()
    expect(inside.status, JSON.stringify(inside.body)).toBe(201)
    const certificate = new X509Certificate(inside.body.certificate!)
    expect(certificate.subjectAltName).toBe(`URI:${FW}`)
    const session = await sessionRow(broker, await latestSessionOf(broker, FW))
    expect(Date.parse(certificate.validTo)).toBeLessThanOrEqual(Number(session.expires_at) * 1000)
    child!.kill('SIGTERM')
    await running
    cleanup(out)
  })
})
