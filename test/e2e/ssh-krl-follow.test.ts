// jit admin ssh-ca krl-follow beside a real OpenSSH server that has no gateway in front: the
// follower writes the file sshd's RevokedKeys names, and a revoked certificate is refused by sshd
// within 2 s of the revoke, with no cron anywhere. Real broker, real follower and CLI processes,
// real keychain; the broker is also stopped and started again under the follower.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceAssertion, loadDeviceKey } from '../../src/cli/device/device-key.js'
import { SystemKeychain } from '../../src/cli/keychain/keychain.js'
import { BIN, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { deviceIdOf, waitFor } from './revocation-helpers.js'
import { newUserKey, sshWithFiles, startSshd, type TestSshd } from './ssh-server.js'

const ME = userInfo().username
const JUMP = 'plant-a/line-3/cell-2/jump-01'
const TICKET = 'WO-104233'
const REFUSED_WITHIN_MS = 2000

let broker: TestBroker
let sshd: TestSshd
let alice: string
let tokenFile: string
let follower: { child: ChildProcess; log(): string; stop(): Promise<void> } | undefined
const keys = tempDir('jit-krl-keys-')

beforeAll(async () => {
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
  const caPub = await (await fetch(`${broker.url}/v1/ssh/ca.pub`)).text()
  // The host starts with the KRL of the moment; from then on only the follower writes it.
  sshd = await startSshd({ caPub, krl: Buffer.from(await (await fetch(`${broker.url}/v1/ssh/krl`)).arrayBuffer()) })
  await broker.addAsset(JUMP, { state: 'running', ssh: { host: '127.0.0.1', port: sshd.port, principals: [ME] } })
  tokenFile = join(keys, 'krl.token')
  writeFileSync(tokenFile, await broker.addVerifier('krl-jump-01'), { mode: 0o600 })
  follower = await startFollower()
}, 60_000)

afterAll(async () => {
  await follower?.stop()
  await sshd?.stop()
  await broker?.stop()
  cleanup(broker.dataDir, alice, sshd.dir, keys)
})

/** The follower as an operator runs it: a real jit process, until SIGTERM. */
async function startFollower(): Promise<NonNullable<typeof follower>> {
  const child = spawn(process.execPath, [BIN, 'admin', 'ssh-ca', 'krl-follow', '--broker', broker.url, '--token-file', tokenFile, '--out', sshd.krlFile, '--json'], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let log = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (log += d))
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()))
  await waitFor('the follower to write the first KRL', () => stdout.includes('\n') || child.exitCode !== null, 20_000)
  expect(child.exitCode, log).toBeNull()
  expect(JSON.parse(stdout)).toMatchObject({ out: sshd.krlFile, broker: broker.url, since: expect.any(Number), bytes: expect.any(Number) })
  return {
    child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** A session of alice's on the jump host and a certificate for a key of the test's own. */
async function certifiedSession(): Promise<{ sid: string; key: { file: string; line: string }; certificate: string }> {
  const request = await jit(['request', '--ticket', TICKET, '--asset', JUMP, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'krl-follow test', '--json'], { home: alice })
  expect(request.code, request.stderr).toBe(0)
  const sid = request.json().session.id as string
  const key = newUserKey(keys)
  const path = '/v1/ssh/certificates'
  const body = JSON.stringify({ sessionId: sid, publicKey: key.line })
  const device = await loadDeviceKey(new SystemKeychain(), deviceIdOf(alice))
  const response = await fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: deviceAssertion(device, 'POST', path, body, broker.url) },
    body,
  })
  expect(response.status).toBe(201)
  return { sid, key, certificate: ((await response.json()) as { certificate: string }).certificate }
}

/** Revokes the session, then tries the certificate until sshd refuses it; how long that took. */
async function refusedAfterRevoke(session: Awaited<ReturnType<typeof certifiedSession>>): Promise<number> {
  expect(await sshWithFiles(sshd, session.key, session.certificate)).toMatchObject({ code: 0, stdout: 'ok\n' })
  expect((await jit(['revoke', session.sid], { home: alice })).code).toBe(0)
  const revokedAt = Date.now()
  await waitFor('sshd to refuse the revoked certificate', async () => (await sshWithFiles(sshd, session.key, session.certificate)).code === 255, 10_000, 0)
  const took = Date.now() - revokedAt
  await waitFor('sshd to log the revocation', () => sshd.log().includes(`revoked by file ${sshd.krlFile}`))
  return took
}

describe('jit admin ssh-ca krl-follow', () => {
  it('a revoked certificate is refused by sshd within 2 s, no cron; the file is always a whole KRL from the broker', async () => {
    const session = await certifiedSession()
    const took = await refusedAfterRevoke(session)
    expect(took).toBeLessThan(REFUSED_WITHIN_MS)
    expect(follower!.log()).toMatch(new RegExp(`rewritten \\(\\d+ bytes\\): session ${session.sid} ended \\(revoked\\)`))
    // The broker's KRL byte for byte (the broker made it; the follower made nothing), listing the session.
    const served = Buffer.from(await (await fetch(`${broker.url}/v1/ssh/krl`)).arrayBuffer())
    expect(execFileSync('ssh-keygen', ['-Q', '-l', '-f', sshd.krlFile], { encoding: 'utf8' })).toMatch(new RegExp(`^id: ${session.sid}$`, 'm'))
    expect(served.equals(readFileSync(sshd.krlFile))).toBe(true)
    // Replaced whole: nothing beside it but what the test's sshd keeps there.
    expect(readdirSync(sshd.dir).filter((name) => name.startsWith(basename(sshd.krlFile)))).toEqual([basename(sshd.krlFile)])
  })

  it('the broker killed and started again: the follower reconnects and the next revocation is refused within 2 s', async () => {
    const port = Number(new URL(broker.url).port)
    // Killed outright (a graceful stop waits for the follower's long poll to end).
    broker.process.kill('SIGKILL')
    await broker.stop()
    await waitFor('the follower to notice', () => /revocation stream: .*retrying/.test(follower!.log()))
    broker = await startBroker({ dataDir: broker.dataDir, port })
    await waitFor('the follower to follow again', () => /revocation stream: following again/.test(follower!.log()), 20_000)
    const took = await refusedAfterRevoke(await certifiedSession())
    expect(took).toBeLessThan(REFUSED_WITHIN_MS)
  })

  it('a token the broker does not know: exit 9 and no file written', async () => {
    const out = join(keys, 'never.krl')
    const bad = join(keys, 'bad.token')
    writeFileSync(bad, 'jitv_not-a-token')
    const result = await jit(['admin', 'ssh-ca', 'krl-follow', '--broker', broker.url, '--token-file', bad, '--out', out, '--json'])
    expect(result.code).toBe(9)
    expect(result.json().error.message).toMatch(/does not know this verifier token/)
    expect(result.stderr + result.stdout).not.toContain('jitv_not-a-token')
    expect(existsSync(out)).toBe(false)
  })

  it('no token, or --out in a folder that does not exist: exit 2 before the broker is asked', async () => {
    const noToken = await jit(['admin', 'ssh-ca', 'krl-follow', '--broker', broker.url, '--out', join(keys, 'x.krl'), '--json'], { env: { JIT_VERIFIER_TOKEN: '' } })
    expect(noToken.code).toBe(2)
    expect(noToken.json().error.message).toMatch(/KRL follower needs its verifier token/)
    expect(noToken.json().error.nextSteps.join(' ')).toMatch(/JIT_VERIFIER_TOKEN/)
    const noFolder = await jit(['admin', 'ssh-ca', 'krl-follow', '--broker', broker.url, '--token-file', tokenFile, '--out', join(keys, 'missing', 'x.krl'), '--json'])
    expect(noFolder.code).toBe(2)
    expect(noFolder.json().error.message).toMatch(/is not a folder/)
  })
})
