// jit ssh to an asset behind a gateway: a real OpenSSH server (Debian's sshd on a loopback port,
// trusting the broker's SSH CA) that is reached only through a real `jit gateway start` process.
// The asset's ssh.host is a name that does not resolve, so a direct connection could not work;
// ssh still checks the host key under that name. A revoke from another process cuts the open
// SSH connection at once. Real broker, real CLI processes, real keychain.
import { readFileSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, startBroker, tempDir, type CliResult, type RunOptions, type TestBroker } from './harness.js'
import { selfSignedCert, startGateway, type TestGateway } from './gateway-helpers.js'
import { auditOf, latestSessionOf, sessionRow, waitFor } from './revocation-helpers.js'
import { filesUnder, startSshd, type TestSshd } from './ssh-server.js'

const ME = userInfo().username
const JUMP = 'plant-a/line-3/cell-2/jump-01'
const UNANNOUNCED = 'plant-a/line-3/cell-4/jump-02'
const TICKET = 'WO-104233'
/** The name ssh is given for the host: it never resolves (RFC 2606), so only the gateway reaches sshd. */
const SSH_HOST = 'jump-01.plant-a.invalid'
const SSH_PORT = 2222
const CUT_WITHIN_MS = 2500

let broker: TestBroker
let sshd: TestSshd
let gateway: TestGateway
let alice: string
let work: string
let knownHosts: string

beforeAll(async () => {
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
  const caPub = await (await fetch(`${broker.url}/v1/ssh/ca.pub`)).text()
  const krl = Buffer.from(await (await fetch(`${broker.url}/v1/ssh/krl`)).arrayBuffer())
  sshd = await startSshd({ caPub, krl })
  const token = await broker.addVerifier('gw-ssh')
  await broker.addAsset(JUMP, { state: 'running', gateway: 'gw-ssh', endpoint: `127.0.0.1:${sshd.port}`, ssh: { host: SSH_HOST, port: SSH_PORT, principals: [ME] } })
  // Behind a gateway that never announced itself, yet directly reachable by its ssh.host.
  await broker.addAsset(UNANNOUNCED, { state: 'running', gateway: 'gw-absent', endpoint: `127.0.0.1:${sshd.port}`, ssh: { host: '127.0.0.1', port: sshd.port, principals: [ME] } })
  gateway = await startGateway(broker, { name: 'gw-ssh', token, cert: selfSignedCert() })
  work = tempDir('jit-ssh-gw-')
  // The host's key, known under the asset's ssh host name, as an operator would distribute it.
  const [type, key] = readFileSync(join(sshd.dir, 'host_key.pub'), 'utf8').split(' ')
  knownHosts = join(work, 'known_hosts')
  writeFileSync(knownHosts, `[${SSH_HOST}]:${SSH_PORT} ${type} ${key}\n`)
}, 60_000)

afterAll(async () => {
  await gateway?.stop()
  await sshd?.stop()
  await broker?.stop()
  cleanup(broker.dataDir, alice, sshd.dir, work)
})

/** jit ssh with a private TMPDIR (to list what it leaves) and strict host key checking. */
async function jitSsh(asset: string, args: string[], options: RunOptions & { knownHosts?: string } = {}): Promise<CliResult & { tmp: string }> {
  const tmp = tempDir('jit-ssh-tmp-')
  const sshOptions = ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${options.knownHosts ?? knownHosts}`, '-o', 'LogLevel=ERROR']
  const result = await jit(['ssh', asset, ...sshOptions, ...args], { home: alice, ...options, env: { TMPDIR: tmp, ...options.env } })
  return { ...result, tmp }
}

/** Nothing left in jit's TMPDIR apart from Node's own compile cache (which holds no secrets). */
function expectNothingLeft(tmp: string): void {
  expect(filesUnder(tmp).filter((f) => !f.path.startsWith(join(tmp, 'node-compile-cache')))).toEqual([])
  cleanup(tmp)
}

function connectionRecords(sessionId: string): Promise<Array<{ actor: string; data: Record<string, unknown> }>> {
  return waitFor('the connection record', async () => {
    const records = (await broker.withStore((store) => store.auditLog.events({ sessionId }))).filter((e) => e.type === 'gateway.connection')
    return records.length > 0 && records
  })
}

describe('jit ssh through the asset\'s gateway', () => {
  it('runs the remote command over the gateway\'s tunnel, with the host key checked under the asset\'s name, and leaves no file', async () => {
    const result = await jitSsh(JUMP, ['--ticket', TICKET, '--scope', 'diagnose', '--', 'echo', 'ok'])
    expect(result.stdout).toBe('ok\n')
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/Through gateway gw-ssh/)
    const sid = await latestSessionOf(broker, 'alice')
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', end_reason: 'command ended (exit 0)' })
    // sshd took the session's certificate, over the connection the gateway carried and recorded.
    expect(sshd.log()).toMatch(new RegExp(`Accepted publickey for ${ME} .* ID ${sid} \\(serial \\d+\\)`))
    const [record] = await connectionRecords(sid)
    expect(record.actor).toBe('verifier:gw-ssh')
    expect(record.data).toMatchObject({ sessionId: sid, asset: JUMP, endCause: expect.stringMatching(/client-closed|asset-closed/) })
    expect(record.data.bytesToAsset).toBeGreaterThan(1000)
    expectNothingLeft(result.tmp)
  })

  it('ssh still refuses a host whose key is not known under the asset\'s name', async () => {
    const empty = join(work, 'known_hosts_empty')
    writeFileSync(empty, '')
    const result = await jitSsh(JUMP, ['--ticket', TICKET, '--scope', 'diagnose', '--', 'echo', 'ok'], { knownHosts: empty })
    expect(result.stdout).toBe('')
    expect(result.code).toBe(255)
    expect(result.stderr).toMatch(new RegExp(`No .*host key is known for \\[${SSH_HOST.replaceAll('.', '\\.')}\\]:${SSH_PORT}`))
    expectNothingLeft(result.tmp)
  })

  it('a revoke from another process cuts the open SSH connection at once', async () => {
    // A session opened apart: jit ssh only borrows it (no heartbeat of its own), so nothing but
    // the gateway can end its connection.
    const requested = await jit(['request', '--ticket', TICKET, '--asset', JUMP, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'cut', '--json'], { home: alice })
    expect(requested.code).toBe(0)
    const sessionId = requested.json().request.sessionId as string
    let remoteRunning!: () => void
    const running = new Promise<void>((ok) => (remoteRunning = ok))
    const watch = (child: import('node:child_process').ChildProcess) => {
      let out = ''
      child.stdout!.on('data', (d) => {
        out += d
        if (out.includes('running')) remoteRunning()
      })
    }
    const ssh = jitSsh(JUMP, ['--', 'echo running; sleep 30; echo finished'], { onSpawn: watch })
    const exited = ssh.then(() => performance.now())
    await Promise.race([running, ssh.then((r) => Promise.reject(new Error(`jit ssh ended early (${r.code}): ${r.stderr}`)))])
    const started = performance.now()
    const revoked = await jit(['revoke', sessionId], { home: alice })
    expect(revoked.code).toBe(0)
    // From the revoke's return (the session ended in the broker's database), not from the start
    // of a jit process on a busy machine.
    // (Negative when the cut came before jit revoke had printed its answer and exited.)
    const answeredAt = performance.now()
    const result = await ssh
    const exitedAt = await exited
    console.log(`jit ssh through the gateway exited ${Math.round(exitedAt - answeredAt)} ms after jit revoke returned (${Math.round(exitedAt - started)} ms after it started)`)
    expect(exitedAt - answeredAt).toBeLessThan(CUT_WITHIN_MS)
    expect(result.stdout).toBe('running\n')
    // ssh's own code for a connection that went away.
    expect(result.code).toBe(255)
    const [record] = await connectionRecords(sessionId)
    expect(record.data).toMatchObject({ sessionId, asset: JUMP, endCause: 'revoked' })
    expect((await sessionRow(broker, sessionId)).state).toBe('revoked')
    expectNothingLeft(result.tmp)
  }, 30_000)

  it('an asset whose gateway is not running is not reached directly: jit ssh refuses and ends its session', async () => {
    const result = await jitSsh(UNANNOUNCED, ['--ticket', TICKET, '--scope', 'diagnose', '--', 'echo', 'ok'], { knownHosts: '/dev/null' })
    expect(result.stdout).toBe('')
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/reached only through its gateway.*gw-absent/)
    const sid = await latestSessionOf(broker, 'alice')
    expect((await auditOf(broker, sid)).some((e) => e.type === 'ssh.certificate.issued')).toBe(true)
    expect((await sessionRow(broker, sid)).state).toBe('revoked')
    expect(sshd.log()).not.toMatch(new RegExp(`ID ${sid} `))
    expectNothingLeft(result.tmp)
  })
})
