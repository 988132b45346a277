// jit ssh against a real OpenSSH server (Debian's sshd on a loopback port) that trusts the
// broker's SSH CA and reads its KRL. Real broker process, real CLI processes, real keychain.
import { execFile, execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrCreateSshCaKey } from '../../src/broker/ssh-ca/ca-key.js'
import { signUserCertificate } from '../../src/broker/ssh-ca/certificate.js'
import { deviceAssertion, loadDeviceKey } from '../../src/cli/device/device-key.js'
import { SystemKeychain } from '../../src/cli/keychain/keychain.js'
import { ED25519_CERT, fingerprint } from '../../src/util/ssh-wire.js'
import { cleanup, jit, startBroker, tempDir, type CliResult, type RunOptions, type TestBroker } from './harness.js'
import { auditOf, deviceIdOf, latestSessionOf, sessionRow, waitFor } from './revocation-helpers.js'
import { SSH_OPTIONS, filesUnder, newUserKey, sshWithFiles as sshWithCertificateFiles, startSshd, type TestSshd } from './ssh-server.js'

const ME = userInfo().username
const execFileAsync = promisify(execFile)
const JUMP = 'plant-a/line-3/cell-2/jump-01'
const HMI = 'plant-a/line-3/cell-4/hmi-02'
const TICKET = 'WO-104233'

let broker: TestBroker
let sshd: TestSshd
let alice: string

beforeAll(async () => {
  // A short grace: heartbeats every second, so the broker's word on a session reaches jit quickly.
  broker = await startBroker({ args: ['--heartbeat-grace', '3s'] })
  alice = await broker.enroll('alice', ['technician'])
  // The host's files as the operator makes them on the broker host.
  const out = tempDir('jit-ssh-ca-export-')
  const exported = await jit(['admin', 'ssh-ca', 'export', '--out', out, ...broker.storeArgs, '--json'])
  expect(exported.code).toBe(0)
  const caPub = readFileSync(join(out, 'trusted-user-ca-keys.pub'), 'utf8')
  expect(caPub).toBe(await (await fetch(`${broker.url}/v1/ssh/ca.pub`)).text())
  sshd = await startSshd({ caPub, krl: readFileSync(join(out, 'revoked-keys.krl')) })
  cleanup(out)
  const added = await jit(['admin', 'asset', 'add', JUMP, '--ssh-host', `127.0.0.1:${sshd.port}`, '--ssh-principal', ME, ...broker.storeArgs])
  expect(added.code).toBe(0)
  // Another asset on the same host, whose certificates name another principal.
  await broker.addAsset(HMI, { state: 'running', ssh: { host: '127.0.0.1', port: sshd.port, principals: ['hmi-maint'] } })
}, 60_000)

afterAll(async () => {
  await sshd?.stop()
  await broker?.stop()
  cleanup(broker.dataDir, alice, sshd.dir)
})

/** jit ssh with a private TMPDIR, so whatever it leaves on disk can be listed. */
async function jitSsh(args: string[], options: RunOptions = {}): Promise<CliResult & { tmp: string }> {
  const tmp = tempDir('jit-ssh-tmp-')
  const result = await jit(['ssh', ...args.slice(0, 1), ...SSH_OPTIONS, ...args.slice(1)], { home: alice, ...options, env: { TMPDIR: tmp, ...options.env } })
  return { ...result, tmp }
}

/** What jit left in its TMPDIR, apart from Node's own compile cache (which holds no secrets). */
function leftIn(tmp: string): ReturnType<typeof filesUnder> {
  return filesUnder(tmp).filter((f) => !f.path.startsWith(join(tmp, 'node-compile-cache')))
}

function expectNothingLeft(tmp: string): void {
  expect(leftIn(tmp)).toEqual([])
  cleanup(tmp)
}

/** An ssh login to this file's sshd with key and certificate files of the test's own. */
const sshWithFiles = (key: { file: string }, certLine: string, login = ME) => sshWithCertificateFiles(sshd, key, certLine, login)

/** A call to the broker signed by alice's device key from the real keychain, as the CLI makes it. */
async function asAlice(method: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const key = await loadDeviceKey(new SystemKeychain(), deviceIdOf(alice))
  const payload = JSON.stringify(body)
  const response = await fetch(`${broker.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: deviceAssertion(key, method, path, payload, broker.url) },
    body: payload,
  })
  return { status: response.status, body: await response.json() }
}

async function refreshKrl(): Promise<void> {
  const response = await fetch(`${broker.url}/v1/ssh/krl`)
  expect(response.status).toBe(200)
  writeFileSync(sshd.krlFile, Buffer.from(await response.arrayBuffer()))
}

describe('jit ssh', () => {
  it('runs the remote command with a certificate for the session, then revokes the session and leaves no file', async () => {
    const result = await jitSsh([JUMP, '--ticket', TICKET, '--scope', 'diagnose', '--', 'echo', 'ok'])
    expect(result.stderr).not.toMatch(/error/i)
    expect(result.stdout).toBe('ok\n')
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/Revoked session ses_/)
    const sid = await latestSessionOf(broker, 'alice')
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', ended_by: 'alice', end_reason: 'command ended (exit 0)' })
    // sshd accepted a certificate whose key id is the session id.
    expect(sshd.log()).toMatch(new RegExp(`Accepted publickey for ${ME} .* ID ${sid} \\(serial \\d+\\)`))
    const issued = (await auditOf(broker, sid)).find((e) => e.type === 'ssh.certificate.issued')!
    expect(issued.actor).toBe('alice')
    expect(issued.data).toMatchObject({ keyId: sid, principals: [ME], extensions: ['permit-pty'] })
    expect(Date.parse(issued.data.validBefore as string) / 1000).toBeLessThanOrEqual((await sessionRow(broker, sid)).expires_at)
    expect(JSON.stringify(issued.data)).not.toMatch(/AAAA/)
    expectNothingLeft(result.tmp)
  })

  it('--json: ssh\'s own exit code and one JSON document with the certificate facts', async () => {
    const result = await jitSsh([JUMP, '--ticket', TICKET, '--scope', 'diagnose', '--json', '--', 'exit', '3'])
    expect(result.code).toBe(3)
    const out = result.json()
    expect(out).toMatchObject({ exitCode: 3, revoked: true, sessionOpened: true, asset: JUMP, target: { host: '127.0.0.1', port: sshd.port, login: ME } })
    expect(out.certificate).toMatchObject({ principals: [ME], extensions: ['permit-pty'] })
    expect(result.stdout).not.toMatch(/ssh-ed25519|PRIVATE KEY/)
    expectNothingLeft(result.tmp)
  })

  it('while ssh runs, only the agent socket exists (in a 0700 folder); SIGTERM ends ssh, revokes and removes it', async () => {
    let seen: ReturnType<typeof leftIn> = []
    let mode = 0
    const tmp = tempDir('jit-ssh-tmp-')
    const result = await jit(['ssh', JUMP, ...SSH_OPTIONS, '--ticket', TICKET, '--scope', 'diagnose', '--', 'echo started; sleep 30'], {
      home: alice,
      env: { TMPDIR: tmp },
      onSpawn: (child) => {
        let out = ''
        child.stdout!.on('data', (d) => {
          out += d
          if (!out.includes('started')) return
          seen = leftIn(tmp)
          mode = (execFileSync('stat', ['-c', '%a', seen.find((f) => f.kind === 'dir')!.path], { encoding: 'utf8' }) as string).trim() === '700' ? 0o700 : -1
          child.kill('SIGTERM')
        })
      },
    })
    expect(seen.map((f) => f.kind).sort()).toEqual(['dir', 'socket'])
    expect(mode).toBe(0o700)
    // ssh itself catches SIGTERM and exits 255; jit reports ssh's own code.
    expect(result.code).toBe(255)
    expect((await sessionRow(broker, (await latestSessionOf(broker, 'alice'))))).toMatchObject({ state: 'revoked', end_reason: 'command ended (exit 255)' })
    expectNothingLeft(tmp)
  })

  it('a revoke from elsewhere ends the running ssh (heard through the heartbeat); nothing left', async () => {
    const tmp = tempDir('jit-ssh-tmp-')
    let revokedAt = 0
    const result = await jit(['ssh', JUMP, ...SSH_OPTIONS, '--ticket', TICKET, '--scope', 'diagnose', '--', 'echo started; sleep 60'], {
      home: alice,
      env: { TMPDIR: tmp },
      onSpawn: (child) => {
        child.stdout!.once('data', async () => {
          const sid = await latestSessionOf(broker, 'alice')
          expect((await jit(['revoke', sid], { home: alice })).code).toBe(0)
          revokedAt = Date.now()
        })
      },
    })
    // ssh was ended by jit (SIGTERM: ssh exits 255) long before the remote sleep would have.
    expect(result.code).toBe(255)
    expect(Date.now() - revokedAt).toBeLessThan(15_000)
    expect(result.stderr).toMatch(/The broker ended session ses_\S+ while ssh to plant-a\/line-3\/cell-2\/jump-01 was still running/)
    expectNothingLeft(tmp)
  })

  it('jit killed outright: its socket folder (no key in it) is removed by the next run, and the broker reaps the session', async () => {
    const tmp = tempDir('jit-ssh-tmp-')
    let during: ReturnType<typeof leftIn> = []
    const killed = await jit(['ssh', JUMP, ...SSH_OPTIONS, '--ticket', TICKET, '--scope', 'diagnose', '--', 'echo started; sleep 1'], {
      home: alice,
      env: { TMPDIR: tmp },
      onSpawn: (child) => {
        child.stdout!.once('data', () => {
          during = leftIn(tmp)
          child.kill('SIGKILL')
        })
      },
    })
    expect(killed.signal).toBe('SIGKILL')
    const sid = await latestSessionOf(broker, 'alice')
    expect(leftIn(tmp).map((f) => f.kind).sort()).toEqual(['dir', 'socket'])
    expect(leftIn(tmp)).toEqual(during)
    await waitFor('the broker to reap the silent session', async () => (await sessionRow(broker, sid)).state === 'revoked', 20_000)
    expect((await sessionRow(broker, sid)).end_reason).toMatch(/heartbeat lost/)
    const next = await jit(['ssh', JUMP, ...SSH_OPTIONS, '--ticket', TICKET, '--scope', 'diagnose', '--', 'echo', 'ok'], { home: alice, env: { TMPDIR: tmp } })
    expect(next.stdout).toBe('ok\n')
    expectNothingLeft(tmp)
  })

  it('a certificate for another asset\'s principal is refused by sshd', async () => {
    const result = await jitSsh([HMI, '--ticket', TICKET, '--scope', 'diagnose', '--login', ME, '--', 'echo', 'ok'])
    expect(result.code).toBe(255)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/Permission denied/)
    const sid = await latestSessionOf(broker, 'alice')
    await waitFor('sshd to log the refusal', () => new RegExp(`Certificate invalid: name is not a listed principal\r?\nFailed publickey for ${ME} .* ID ${sid} `).test(sshd.log()))
    expect((await sessionRow(broker, sid)).state).toBe('revoked')
    expectNothingLeft(result.tmp)
  })

  it('an asset without an SSH endpoint: exit 2 before ssh runs, the session is revoked, nothing left', async () => {
    const result = await jitSsh(['plant-a/line-3/cell-2/plc-07', '--ticket', TICKET, '--scope', 'diagnose', '--json', '--', 'echo', 'ok'])
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/no SSH endpoint/)
    expect((await sessionRow(broker, (await latestSessionOf(broker, 'alice'))))).toMatchObject({ state: 'revoked', end_reason: 'the command could not be started' })
    expectNothingLeft(result.tmp)
  })

  it('without --ticket and no active session on the asset: exit 2 and what to do', async () => {
    const result = await jitSsh([JUMP, '--', 'echo', 'ok'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/No active session of this device on plant-a\/line-3\/cell-2\/jump-01/)
    expectNothingLeft(result.tmp)
  })
})

describe('sshd and the broker\'s CA', () => {
  it('an expired certificate from the broker\'s CA is refused; the same key in its validity is accepted', async () => {
    const dir = tempDir('jit-ssh-keys-')
    const user = newUserKey(dir)
    const blob = Buffer.from(user.line.split(' ')[1], 'base64')
    const now = Math.floor(Date.now() / 1000)
    const ca = loadOrCreateSshCaKey(broker.dataDir)
    const cert = (validAfter: number, validBefore: number) =>
      `${ED25519_CERT} ${signUserCertificate({ publicKey: blob, serial: 900_000n + BigInt(validAfter % 1000), keyId: 'test-expiry', principals: [ME], validAfter, validBefore, extensions: ['permit-pty'] }, ca).toString('base64')}`
    const expired = await sshWithFiles(user, cert(now - 7200, now - 3600))
    expect(expired.code).toBe(255)
    await waitFor('sshd to log the expired certificate', () => /Certificate invalid: expired/.test(sshd.log()))
    const valid = await sshWithFiles(user, cert(now - 60, now + 300))
    expect(valid).toMatchObject({ code: 0, stdout: 'ok\n' })
    cleanup(dir)
  })

  it('a malformed public key in the signing request is refused with 400 and changes nothing', async () => {
    const request = await jit(['request', '--ticket', TICKET, '--asset', JUMP, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'malformed key test', '--json'], { home: alice })
    const sid = request.json().session.id as string
    const before = (await auditOf(broker, sid)).length
    for (const publicKey of ['ssh-ed25519 not-base64!', 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ', `ssh-ed25519 ${Buffer.from('garbage').toString('base64')}`, '']) {
      const answer = await asAlice('POST', '/v1/ssh/certificates', { sessionId: sid, publicKey })
      expect(answer.status).toBe(400)
      expect(answer.body.code).toBe('bad-input')
    }
    expect((await auditOf(broker, sid)).length).toBe(before)
    await jit(['revoke', sid], { home: alice })
  })

  it('after revoke and a KRL refresh, a certificate of the session no longer logs in', async () => {
    const request = await jit(['request', '--ticket', TICKET, '--asset', JUMP, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'krl test', '--json'], { home: alice })
    expect(request.code).toBe(0)
    const sid = request.json().session.id as string
    // jit ssh borrows the open session and leaves it open.
    const borrowed = await jitSsh([JUMP, '--', 'echo', 'ok'])
    expect(borrowed.stdout).toBe('ok\n')
    expect(borrowed.code).toBe(0)
    expect((await sessionRow(broker, sid)).state).toBe('active')
    expectNothingLeft(borrowed.tmp)

    const dir = tempDir('jit-ssh-keys-')
    const user = newUserKey(dir)
    const signed = await asAlice('POST', '/v1/ssh/certificates', { sessionId: sid, publicKey: user.line })
    expect(signed.status).toBe(201)
    expect(await sshWithFiles(user, signed.body.certificate)).toMatchObject({ code: 0, stdout: 'ok\n' })

    expect((await jit(['revoke', sid], { home: alice })).code).toBe(0)
    // A plain sshd knows nothing of the revoke until it has the fresh KRL.
    expect(await sshWithFiles(user, signed.body.certificate)).toMatchObject({ code: 0, stdout: 'ok\n' })
    await refreshKrl()
    const refused = await sshWithFiles(user, signed.body.certificate)
    expect(refused.code).toBe(255)
    const print = fingerprint(Buffer.from(user.line.split(' ')[1], 'base64'))
    await waitFor('sshd to log the revoked certificate', () => sshd.log().includes(`Authentication key ED25519-CERT ${print} revoked by file ${sshd.krlFile}`))
    // The broker signs nothing more for the ended session.
    expect((await asAlice('POST', '/v1/ssh/certificates', { sessionId: sid, publicKey: newUserKey(dir).line })).status).toBe(409)

    // Each revocation that landed in the KRL is audited once, however often the KRL is fetched.
    await refreshKrl()
    const revocations = (await auditOf(broker, sid)).filter((e) => e.type === 'ssh.certificate.revoked')
    const serials = (await auditOf(broker, sid)).filter((e) => e.type === 'ssh.certificate.issued').map((e) => e.data.serial)
    expect(serials).toHaveLength(2)
    expect(revocations.map((e) => e.data.serial).sort()).toEqual([...serials].sort())
    const krlText = execFileSync('ssh-keygen', ['-Q', '-l', '-f', sshd.krlFile], { encoding: 'utf8' })
    expect(krlText).toMatch(new RegExp(`^id: ${sid}$`, 'm'))
    // ssh-keygen's own reading of the KRL: this certificate is in it.
    const query = await execFileAsync('ssh-keygen', ['-Q', '-f', sshd.krlFile, `${user.file}-cert.pub`]).catch((e: { code: number; stdout: string }) => e)
    expect(query).toMatchObject({ code: 1, stdout: expect.stringMatching(/REVOKED/) })
    cleanup(dir)
  })
})


describe('jit admin ssh-ca', () => {
  it('export refuses a data folder without an SSH CA, and creates none there', async () => {
    const empty = tempDir('jit-no-broker-')
    const out = tempDir('jit-ssh-ca-export-')
    const result = await jit(['admin', 'ssh-ca', 'export', '--out', out, '--data', empty, '--json'])
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/holds no SSH CA key/)
    expect(leftIn(empty)).toEqual([])
    expect(leftIn(out)).toEqual([])
    cleanup(empty, out)
  })

  it('rotate: the next key is published first, then signs on the running broker; at no point does sshd refuse a login', async () => {
    const caPub = async () => (await fetch(`${broker.url}/v1/ssh/ca.pub`)).text()
    const login = async () => {
      const result = await jitSsh([JUMP, '--ticket', TICKET, '--scope', 'diagnose', '--', 'echo', 'ok'])
      expect(result.stdout).toBe('ok\n')
      expectNothingLeft(result.tmp)
    }
    const announced = await jit(['admin', 'ssh-ca', 'rotate', ...broker.storeArgs, '--json'])
    expect(announced.code).toBe(0)
    const { current: old, next } = announced.json()
    const both = await caPub()
    expect(both.trim().split('\n').map((line) => line.split(' ').pop())).toEqual([old, next])
    // The old key still signs; the host fetches the announced one meanwhile.
    await login()
    writeFileSync(sshd.caFile, both)
    await login()

    const activated = await jit(['admin', 'ssh-ca', 'rotate', '--activate', ...broker.storeArgs, '--json'])
    expect(activated.code).toBe(0)
    expect(activated.json()).toMatchObject({ step: 'activated', current: next, previous: old })
    // The running broker signs with the new key at once, and the host already trusts it.
    await login()
    await waitFor('sshd to accept a certificate of the new CA', () => sshd.log().includes(`signed by ED25519 CA ${next}`))
    expect((await caPub()).trim().split('\n').map((line) => line.split(' ').pop())).toEqual([next, old])

    // Announcing again is fine; activating inside the overlap would drop a key hosts still need.
    expect((await jit(['admin', 'ssh-ca', 'rotate', ...broker.storeArgs])).code).toBe(0)
    const again = await jit(['admin', 'ssh-ca', 'rotate', '--activate', ...broker.storeArgs, '--json'])
    expect(again.code).toBe(2)
    expect(again.json().error.message).toMatch(/still has certificates valid until/)
  })
})
