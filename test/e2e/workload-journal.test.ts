// A workload's job whose broker is away when the command ends: the revocation waits in the
// journal of the workload's user, and the next jit run there delivers it, signed with the
// workload's key from its folder (no keychain, no profile). Real broker and CLI processes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { sessionRow, waitForFile } from './revocation-helpers.js'

const POLICY = `version: 1
rules:
  - name: jobs
    who: { workloads: { names: [fw-updater] } }
    assets: ['plant-a/**']
    scopes: [control]
    max_ttl: 30m
    ticket: { required: false }
    conditions: { intent: [firmware-update] }
`
const FW = 'spiffe://jit.local/workload/fw-updater'
let broker: TestBroker
let dataDir: string
let policyDir: string
let port = 0
let host: string
let verifierToken: string
const job = ['run', '--workload', 'fw-updater', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'control', '--intent', 'firmware-update']

async function start(): Promise<void> {
  broker = await startBroker({ dataDir, port, policy: join(policyDir, 'policy.yaml') })
  port = Number(new URL(broker.url).port)
}

beforeAll(async () => {
  dataDir = tempDir('jit-broker-')
  policyDir = tempDir('jit-wl-policy-')
  writeFileSync(join(policyDir, 'policy.yaml'), POLICY)
  await start()
  verifierToken = await broker.addVerifier('gateway-line-3')
  const admin = (args: string[]) => jit(['admin', 'workload', ...args, ...broker.storeArgs, '--json'])
  await broker.withStore(async (store) => (await import('../../src/broker/admin.js')).addUser(store, { name: 'alice', roles: ['technician'], disabled: false }))
  expect((await admin(['add', 'fw-updater', '--owner', 'alice', '--attest', 'join-token'])).code).toBe(0)
  const token = (await admin(['join-token', 'fw-updater'])).json().token as string
  host = tempDir('jit-wl-host-')
  const enrolled = await jit(['workload', 'enroll', 'fw-updater', '--broker', broker.url, '--token-file', '-', '--json'], { home: host, input: token })
  expect(enrolled.code, enrolled.stderr).toBe(0)
})

afterAll(async () => {
  await broker.stop()
  cleanup(dataDir, policyDir, host)
})

describe('the broker is away when a workload\'s job ends', () => {
  it('the revocation is journaled and delivered by the next jit run, signed with the workload key', async () => {
    const out = tempDir()
    const script = `printf %s "$JIT_SESSION_ID" > ${out}/sid; printf %s "$JIT_TOKEN" > ${out}/token; while [ ! -e ${out}/go ]; do sleep 0.05; done; exit 0`
    const running = jit([...job, '--', 'sh', '-c', script], { home: host })
    const token = await waitForFile(join(out, 'token'))
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    broker.process.kill('SIGKILL')
    await broker.stop()
    writeFileSync(join(out, 'go'), '1')
    const result = await running
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(new RegExp(`revocation of ${sid} is queued`))
    const journal = readFileSync(join(host, 'revocation-journal.json'), 'utf8')
    expect(JSON.parse(journal)).toEqual([expect.objectContaining({ sessionId: sid, profile: expect.stringMatching(/^workload:fw-updater:/) })])
    expect(journal).not.toContain(token)

    await start()
    expect((await introspect(broker, token, verifierToken)).active).toBe(true)
    const next = await jit([...job, '--', 'true'], { home: host })
    expect(next.code, next.stderr).toBe(0)
    expect(next.stderr).toMatch(new RegExp(`Revoked ${sid}, which was queued`))
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', ended_by: FW })
    expect(existsSync(join(host, 'revocation-journal.json'))).toBe(false)
    cleanup(out)
  })
})
