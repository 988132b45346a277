// The CLI's side of the wire: TLS with a private CA, refusal of untrusted certificates and of
// plain HTTP off loopback, an unreachable broker, and Ctrl-C while waiting for approval.
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addUser, enrollmentCode, openStore } from '../../src/broker/admin.js'
import { SqliteAsyncStore } from '../../src/broker/store/sqlite-async-store.js'
import { BIN, FIXTURE_POLICY, PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'

/** A private CA and a certificate for 127.0.0.1 signed by it, made with openssl. */
function makeCa(dir: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=jit test CA', '-keyout', 'ca.key', '-out', 'ca.pem')
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'broker.key', '-out', 'broker.csr')
  execFileSync('sh', ['-c', "printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"], { cwd: dir })
  run('x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'broker.pem')
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'broker.pem'), key: join(dir, 'broker.key') }
}

describe('TLS', () => {
  let dir: string
  let data: string
  let pki: ReturnType<typeof makeCa>
  let url: string
  let stop: () => void

  beforeAll(async () => {
    dir = tempDir()
    data = tempDir()
    pki = makeCa(dir)
    const child = spawn(process.execPath, [BIN, 'broker', 'start', '--data', data, '--policy', FIXTURE_POLICY, '--listen', '127.0.0.1:0', '--tls-cert', pki.cert, '--tls-key', pki.key], { stdio: ['ignore', 'pipe', 'inherit'] })
    url = await new Promise((ok) => child.stdout.on('data', (d) => ok(String(d).trim())))
    stop = () => child.kill('SIGTERM')
    const store = new SqliteAsyncStore(openStore(data))
    await addUser(store, { name: 'tess', roles: ['technician'], disabled: false })
    await store.close()
  })

  afterAll(() => {
    stop()
    cleanup(dir, data)
  })

  it('the broker speaks https when given a certificate', () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
  })

  it('an untrusted certificate is refused with exit 5 and the fix named; the code is not spent', async () => {
    const store = new SqliteAsyncStore(openStore(data))
    const { code } = await enrollmentCode(store, 'tess', 600)
    await store.close()
    const home = tempDir()
    const refused = await jit(['login', '--broker', url, '--json'], { home, env: { JIT_ENROLL_CODE: code } })
    expect(refused.code).toBe(5)
    expect(refused.json().error.message).toMatch(/TLS/)
    expect(refused.json().error.nextSteps.join(' ')).toMatch(/--ca-file/)
    const trusted = await jit(['login', '--broker', url, '--ca-file', pki.ca, '--json'], { home, env: { JIT_ENROLL_CODE: code } })
    expect(trusted.code).toBe(0)
    // The CA file is remembered with the profile.
    const whoami = await jit(['whoami', '--json'], { home })
    expect(whoami.code).toBe(0)
    expect(whoami.json().user).toBe('tess')
    cleanup(home)
  })
})

describe('plain HTTP and unreachable brokers', () => {
  it('plain HTTP to a host that is not loopback is refused (exit 2) before anything is sent', async () => {
    const home = tempDir()
    const result = await jit(['login', '--broker', 'http://broker.plant-a.example:8443', '--code', 'AAAA-BBBB-CCCC-DDDD', '--json'], { home })
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/plain HTTP/)
    cleanup(home)
  })

  it('a broker that is not there gives exit 5', async () => {
    const home = tempDir()
    // Port 9 on loopback: nothing listens there.
    const result = await jit(['login', '--broker', 'http://127.0.0.1:9', '--code', 'AAAA-BBBB-CCCC-DDDD', '--json'], { home })
    expect(result.code).toBe(5)
    expect(result.json().error.message).toMatch(/Cannot reach the broker/)
    cleanup(home)
  })
})

describe('waiting for approval', () => {
  let broker: TestBroker
  let tess: string

  beforeAll(async () => {
    broker = await startBroker()
    tess = await broker.enroll('tess', ['technician'])
  })

  afterAll(async () => {
    await broker.stop()
    cleanup(broker.dataDir, tess)
  })

  it('Ctrl-C (SIGINT) while waiting cancels the request at the broker and says so (exit 4)', async () => {
    const result = await jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'control', '--reason', 'x', '--json'], {
      home: tess,
      onSpawn: (child) => setTimeout(() => child.kill('SIGINT'), 1500),
    })
    expect(result.code).toBe(4)
    const error = result.json().error
    expect(error.message).toMatch(/Cancelled request/)
    expect((await broker.withStore((store) => store.requests.get(error.requestId)))!.state).toBe('cancelled')
  })
})
