// SSH certificates, measured with real parts: a broker process on loopback and Debian's sshd on a
// free loopback port trusting the broker's CA (the host's files as /v1/ssh/ca.pub and /v1/ssh/krl
// serve them).
//
// - `jit ssh ASSET --ticket --scope -- CMD`: from spawning jit to the remote command's first byte
//   on jit's stdout (session opened, heartbeat armed, key made, certificate signed, agent up, ssh
//   connected and authenticated with it), beside plain `ssh` with a key and certificate from files
//   to the same sshd in the same rounds; and the same through a `jit gateway start` process in
//   front of that sshd (gateway address from the broker, TLS, proof of possession, introspection,
//   ssh's ProxyCommand relay).
// - The broker's signing rate: POST /v1/ssh/certificates for one active session, each call on a
//   fresh device assertion (made before the clock starts), certificate recorded and audited with
//   synchronous=FULL; every acknowledged certificate is counted on disk afterwards.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { userInfo } from 'node:os'
import { DatabaseSync } from 'node:sqlite'
import { Pool } from 'undici'
import { addAsset, addVerifier, openStore } from '../../dist/src/broker/admin.js'
import { SqliteAsyncStore } from '../../dist/src/broker/store/sqlite-async-store.js'
import { loadOrCreateSshCaKey } from '../../dist/src/broker/ssh-ca/ca-key.js'
import { signUserCertificate } from '../../dist/src/broker/ssh-ca/certificate.js'
import { deviceAssertion } from '../../dist/src/cli/device/device-key.js'
import { ED25519_CERT } from '../../dist/src/util/ssh-wire.js'
import { median, nowMs, percentile, type BenchRow, type Section } from '../lib.ts'
import { TICKET, keychainAvailable, processCpuMs, removeDirs, startBrokerProcess, tempDir } from '../support.ts'
import { startGatewayProcess } from './gateway.ts'

const SSHD = '/usr/sbin/sshd'
const JUMP = 'plant-a/line-3/cell-2/jump-01'
const JUMP_BEHIND_GATEWAY = 'plant-a/line-3/cell-2/jump-02'
const SSH_OPTIONS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR']
const SIGN_PATH = '/v1/ssh/certificates'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()))
  const { port } = server.address() as { port: number }
  await new Promise<void>((ok) => server.close(() => ok()))
  return port
}

async function startSshd(dir: string, caPub: string, krl: Buffer): Promise<{ port: number; stop(): Promise<void> }> {
  writeFileSync(join(dir, 'ca.pub'), caPub)
  writeFileSync(join(dir, 'krl'), krl)
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')])
  const port = await freePort()
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `PidFile ${join(dir, 'sshd.pid')}`,
    `TrustedUserCAKeys ${join(dir, 'ca.pub')}`, `RevokedKeys ${join(dir, 'krl')}`, 'AuthorizedKeysFile none',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'StrictModes no', 'UsePAM no', '',
  ].join('\n'))
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  await new Promise<void>((ok, fail) => {
    child.stderr!.on('data', (d) => {
      log += d
      if (log.includes('Server listening')) ok()
    })
    child.once('exit', (code) => fail(new Error(`sshd exited ${code}: ${log}`)))
  })
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await new Promise((ok) => (child.exitCode === null && child.signalCode === null ? child.once('exit', ok) : ok(undefined)))
    },
  }
}

/** Spawn → the first stdout byte (the remote command runs), and → exit. */
function timeToFirstByte(command: string, args: string[], env: Record<string, string>): Promise<{ firstByteMs: number; exitMs: number }> {
  return new Promise((resolve, reject) => {
    const start = nowMs()
    let firstByteMs = Number.NaN
    let stdout = ''
    let stderr = ''
    const child = spawn(command, args, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d) => {
      if (Number.isNaN(firstByteMs)) firstByteMs = nowMs() - start
      stdout += d
    })
    child.stderr.on('data', (d) => (stderr += d))
    child.once('error', reject)
    child.once('close', (code) => {
      if (code !== 0 || stdout !== 'started\n') reject(new Error(`${command} exited ${code}: ${stderr.trim()} ${stdout.trim()}`))
      else resolve({ firstByteMs, exitMs: nowMs() - start })
    })
  })
}

const ssh: Section = async ({ quick, root }) => {
  if (!existsSync(SSHD)) return [{ section: 'ssh', name: 'jit ssh → remote command running', value: Number.NaN, unit: 'ms', note: `skipped: no ${SSHD} (Debian: openssh-server)` }]
  if (!(await keychainAvailable())) throw new Error('No OS keychain answers: run the bench inside scripts/with-keyring.sh (npm run bench does).')
  const broker = await startBrokerProcess(root)
  const dir = tempDir('jit-bench-sshd-')
  let home: string | undefined
  let sshd: Awaited<ReturnType<typeof startSshd>> | undefined
  let gw: Awaited<ReturnType<typeof startGatewayProcess>> | undefined
  const pool = new Pool(broker.url, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 })
  try {
    const caPub = await (await fetch(`${broker.url}/v1/ssh/ca.pub`)).text()
    const krl = Buffer.from(await (await fetch(`${broker.url}/v1/ssh/krl`)).arrayBuffer())
    sshd = await startSshd(dir, caPub, krl)
    const me = userInfo().username
    const store = new SqliteAsyncStore(openStore(broker.dataDir))
    let gwToken: string
    try {
      await addAsset(store, { path: JUMP, attributes: { state: 'running', ssh: { host: `127.0.0.1:${sshd.port}`, principals: [me] } } })
      // The same sshd, reached only through the gateway (bench-gw).
      await addAsset(store, { path: JUMP_BEHIND_GATEWAY, attributes: { state: 'running', gateway: 'bench-gw', endpoint: `127.0.0.1:${sshd.port}`, ssh: { host: `127.0.0.1:${sshd.port}`, principals: [me] } } })
      gwToken = (await addVerifier(store, 'bench-gw')).token
    } finally {
      await store.close()
    }
    gw = await startGatewayProcess(root, broker, gwToken, dir)

    // Plain ssh with a key and a certificate from files: the floor jit ssh stands on.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user')])
    const userBlob = Buffer.from(readFileSync(join(dir, 'user.pub'), 'utf8').split(' ')[1], 'base64')
    const now = Math.floor(Date.now() / 1000)
    const cert = signUserCertificate({ publicKey: userBlob, serial: 1_000_000n, keyId: 'bench-baseline', principals: [me], validAfter: now - 60, validBefore: now + 3600, extensions: ['permit-pty'] }, loadOrCreateSshCaKey(broker.dataDir))
    writeFileSync(join(dir, 'user-cert.pub'), `${ED25519_CERT} ${cert.toString('base64')}\n`)
    const plainArgs = ['-i', join(dir, 'user'), '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes', ...SSH_OPTIONS, '-p', String(sshd.port), '-l', me, '127.0.0.1', 'echo', 'started']

    home = await broker.loginCli('bench-ssh', root)
    const jitArgs = [join(root, 'bin/run.js'), 'ssh', JUMP, '--ticket', TICKET, '--scope', 'diagnose', ...SSH_OPTIONS, '--', 'echo', 'started']
    const jitGatewayArgs = [join(root, 'bin/run.js'), 'ssh', JUMP_BEHIND_GATEWAY, '--ticket', TICKET, '--scope', 'diagnose', ...SSH_OPTIONS, '--', 'echo', 'started']
    const runs = quick ? 2 : 15
    const warmup = quick ? 1 : 2
    const jit: { firstByteMs: number; exitMs: number }[] = []
    const throughGateway: { firstByteMs: number; exitMs: number }[] = []
    const plain: number[] = []
    for (let round = 0; round < warmup + runs; round++) {
      const a = await timeToFirstByte(process.execPath, jitArgs, { JIT_HOME: home })
      const b = await timeToFirstByte('ssh', plainArgs, {})
      const c = await timeToFirstByte(process.execPath, jitGatewayArgs, { JIT_HOME: home })
      if (round >= warmup) {
        jit.push(a)
        plain.push(b.firstByteMs)
        throughGateway.push(c)
      }
    }
    const gatewayFirst = median(throughGateway.map((s) => s.firstByteMs))
    const jitFirst = median(jit.map((s) => s.firstByteMs))
    const plainFirst = median(plain)
    const rows: BenchRow[] = [
      {
        section: 'ssh',
        name: 'jit ssh → remote command running',
        value: jitFirst,
        unit: 'ms',
        p50: jitFirst,
        p99: percentile(jit.map((s) => s.firstByteMs), 99),
        baseline: { name: 'ssh with key+cert files', value: plainFirst },
        ratio: jitFirst / plainFirst,
        note: `median of ${runs} runs: new session, heartbeat, key, certificate, agent, ssh login to sshd on loopback; whole run to exit (revoked) ${Math.round(median(jit.map((s) => s.exitMs)))} ms`,
      },
      {
        section: 'ssh',
        name: 'jit ssh through the gateway → remote command running',
        value: gatewayFirst,
        unit: 'ms',
        p50: gatewayFirst,
        p99: percentile(throughGateway.map((s) => s.firstByteMs), 99),
        baseline: { name: 'jit ssh straight to sshd', value: jitFirst },
        ratio: gatewayFirst / jitFirst,
        note: `median of ${runs} runs, same rounds: as above plus the gateway's address from the broker, TLS to the gateway, proof of possession, the gateway's introspection and the ProxyCommand relay (a second jit process); whole run to exit ${Math.round(median(throughGateway.map((s) => s.exitMs)))} ms`,
      },
    ]

    // The signing rate, on one session of a device enrolled over HTTP.
    const key = await broker.enrollDevice('bench-ssh-load')
    const requestBody = JSON.stringify({ ticket: TICKET, asset: JUMP, scope: 'diagnose', ttlSeconds: 3600, reason: 'bench' })
    const granted = await pool.request({ path: '/v1/requests', method: 'POST', headers: { 'content-type': 'application/json', authorization: deviceAssertion(key as never, 'POST', '/v1/requests', requestBody, broker.url) }, body: requestBody })
    const grant = (await granted.body.json()) as { grant?: { session: { id: string } } }
    if (!grant.grant) throw new Error(`no grant for the signing bench: ${JSON.stringify(grant)}`)
    const body = JSON.stringify({ sessionId: grant.grant.session.id, publicKey: readFileSync(join(dir, 'user.pub'), 'utf8').trim() })
    let signed = 0
    const drive = async (concurrency: number, total: number) => {
      const assertions = Array.from({ length: total }, () => deviceAssertion(key as never, 'POST', SIGN_PATH, body, broker.url))
      const latencies: number[] = []
      let next = 0
      const worker = async () => {
        while (next < total) {
          const authorization = assertions[next++]
          const start = nowMs()
          const response = await pool.request({ path: SIGN_PATH, method: 'POST', headers: { 'content-type': 'application/json', authorization }, body })
          const text = await response.body.text()
          latencies.push(nowMs() - start)
          if (response.statusCode !== 201 || !text.includes(ED25519_CERT)) throw new Error(`expected a certificate (201), got HTTP ${response.statusCode}: ${text.slice(0, 300)}`)
        }
      }
      const cpuBefore = processCpuMs(broker.child.pid)
      const start = nowMs()
      await Promise.all(Array.from({ length: concurrency }, worker))
      const seconds = (nowMs() - start) / 1000
      const cpuAfter = processCpuMs(broker.child.pid)
      signed += total
      return { rate: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuMicros: cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1000) / total }
    }
    await drive(16, quick ? 20 : 500)
    for (const [concurrency, total] of [[1, quick ? 30 : 1000], [16, quick ? 60 : 4000], [64, quick ? 120 : 4000]] as const) {
      const results = []
      for (let i = 0; i < (quick ? 1 : 3); i++) results.push(await drive(concurrency, total))
      const cpu = results.every((r) => r.cpuMicros !== undefined) ? `, broker CPU ${Math.round(median(results.map((r) => r.cpuMicros!)))} µs/certificate` : ''
      rows.push({
        section: 'ssh',
        name: `broker signs SSH certificates, concurrency ${concurrency}`,
        value: median(results.map((r) => r.rate)),
        unit: 'certs/s',
        p50: median(results.map((r) => r.p50)),
        p99: median(results.map((r) => r.p99)),
        note: `median of ${results.length} x ${total} signing calls (device assertion verified, certificate recorded and audited, fsync'd)${cpu}`,
      })
    }
    const db = new DatabaseSync(join(broker.dataDir, 'broker.db'), { readOnly: true })
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n
      const stored = count('SELECT count(*) AS n FROM ssh_certificates')
      const audited = count("SELECT count(*) AS n FROM audit WHERE type = 'ssh.certificate.issued'")
      // jit ssh runs (straight and through the gateway) issued one certificate each, on top of the load.
      const expected = signed + 2 * (warmup + runs)
      if (stored !== expected || audited !== expected) throw new Error(`${expected} certificates acknowledged, but ${stored} recorded and ${audited} audited`)
    } finally {
      db.close()
    }
    return rows
  } finally {
    await pool.close()
    await gw?.stop()
    await sshd?.stop()
    await broker.stop()
    removeDirs(dir, ...(home ? [home] : []))
  }
}

export default ssh
