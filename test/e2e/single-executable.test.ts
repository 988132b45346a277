// The Linux x64 single executable as a plant would use it: built by `npm run dist`, copied alone
// into an empty folder and run with a PATH that has no node on it. It runs the quickstart with
// the real keychain, a whole session against a broker it starts itself, a gateway, and it refuses
// a keychain binding that was changed after the build.
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, introspect, jit, keychainHas, startBroker, tempDir, testSingleExecutable, type TestBroker } from './harness.js'
import { buildSingleExecutable, cachedKeyringFile, pathWithout } from './single-executable-build.js'
import { selfSignedCert, startGateway } from './gateway-helpers.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
const keyringVersion = (JSON.parse(readFileSync(new URL('../../node_modules/@napi-rs/keyring/package.json', import.meta.url), 'utf8')) as { version: string }).version

let app: string
let exe: string
let path: string
let tmp: string

beforeAll(async () => {
  const built = await buildSingleExecutable('linux-x64', 'jit-linux-x64')
  app = tempDir('jit-app-')
  exe = join(app, 'jit')
  copyFileSync(built, exe)
  chmodSync(exe, 0o755)
  cleanup(join(built, '..'))
  // What jit itself starts: sh for jit exec, openssl for the quickstart's demo gateway.
  path = pathWithout(['sh', 'openssl'])
  tmp = tempDir('jit-sea-tmp-')
  testSingleExecutable(exe, { PATH: path, TMPDIR: tmp })
}, 240_000)

afterAll(() => cleanup(app, path, tmp))

describe('the executable alone, no Node on the PATH', () => {
  it('the folder holds only jit, and the PATH has no node', () => {
    expect(readdirSync(app)).toEqual(['jit'])
    expect(readdirSync(path).sort()).toEqual(['openssl', 'sh'])
  })

  it('jit --version names the Node inside', async () => {
    const result = await jit(['--version'])
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toMatch(new RegExp(`^jit/${pkg.version.replaceAll('.', '\\.')} linux-x64 node-v24\\.\\d+\\.\\d+$`))
  })

  it('jit version finds the Secret Service through the embedded binding, loaded from a private verified copy', async () => {
    const home = tempDir()
    const result = await jit(['version', '--json'], { home })
    expect(result.code).toBe(0)
    const report = result.json()
    expect(report).toMatchObject({ version: pkg.version, platform: 'linux-x64', singleExecutable: true, keychain: { backend: 'Secret Service (D-Bus)', state: 'available' }, broker: { state: 'none' } })
    expect(report.commit).toMatch(/^[0-9a-f]{12}/)
    const dir = join(tmp, `jit-native-${process.getuid!()}`)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const copies = readdirSync(dir)
    expect(copies).toHaveLength(1)
    const expected = createHash('sha256').update(readFileSync(cachedKeyringFile(keyringVersion))).digest('hex')
    expect(copies[0]).toBe(`${expected}-keyring.node`)
    cleanup(home)
  })

  it('runs jit quickstart with the OS keychain, the demo tool and the demo gateway', async () => {
    const result = await jit(['quickstart', '--json'], { home: tempDir() })
    expect(result.code, result.stderr).toBe(0)
    const report = result.json()
    expect(report.keychain).toBe('os')
    expect(report.activeWhileRunning).toBe(true)
    expect(report.activeAfterRevoke).toBe(false)
    expect(report.auditIntact).toBe(true)
    expect(report.gateway.skipped).toBeUndefined()
    expect(report.gateway.echoed).toBe(true)
  }, 90_000)
})

describe('a whole session against a broker started from the executable', () => {
  let broker: TestBroker
  let alice: string
  let security: string
  let verifierToken: string

  beforeAll(async () => {
    broker = await startBroker()
    alice = await broker.enroll('alice', ['technician'])
    security = await broker.enroll('sec', ['security'])
    verifierToken = await broker.addVerifier('gateway-line-3')
  }, 60_000)

  afterAll(async () => {
    await broker.stop()
    cleanup(broker.dataDir, alice, security)
  })

  it('jit exec runs a command with the credential and revokes it on exit', async () => {
    const out = tempDir()
    const script = `printf %s "$JIT_TOKEN" > ${out}/token; printf %s "$JIT_SESSION_ID" > ${out}/sid`
    const result = await jit(['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m', '--', 'sh', '-c', script], { home: alice })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/Revoked session ses_/)
    const token = readFileSync(join(out, 'token'), 'utf8')
    const sid = readFileSync(join(out, 'sid'), 'utf8')
    expect(token.split('.')).toHaveLength(3)
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    const deviceId = JSON.parse(readFileSync(join(alice, 'config.json'), 'utf8')).profiles.default.deviceId
    expect(await keychainHas(`cred:${deviceId}:${sid}`)).toBe(false)
    cleanup(out)
  })

  it('the broker verifies its audit log on a worker thread (a module embedded as an asset)', async () => {
    const result = await jit(['audit', 'verify', '--json'], { home: security })
    expect(result.code, result.stderr).toBe(0)
    expect(result.json()).toMatchObject({ ok: true })
    expect(result.json().events).toBeGreaterThan(0)
  })

  it('jit version says the profile\'s broker runs a compatible version', async () => {
    const result = await jit(['version', '--json'], { home: alice })
    expect(result.json().broker).toMatchObject({ state: 'compatible', url: broker.url, version: pkg.version })
  })

  it('jit gateway start runs from it, announces its address and stops cleanly on SIGTERM', async () => {
    const token = await broker.addVerifier('gateway-sea')
    const gateway = await startGateway(broker, { name: 'gateway-sea', token, cert: selfSignedCert() })
    expect(gateway.address).toMatch(/^127\.0\.0\.1:\d+$/)
    await gateway.stop()
    expect(gateway.process.exitCode).toBe(0)
  })

  it('jit ssh-proxy (ssh\'s ProxyCommand, started without oclif) relays both ways to a tunnel socket', async () => {
    const dir = tempDir('jit-sea-proxy-')
    const socketPath = join(dir, 'tunnel.sock')
    const server = createServer((socket) => {
      let received = ''
      socket.on('data', (d) => (received += d))
      socket.on('end', () => socket.end(received.toUpperCase()))
    })
    await new Promise<void>((ok) => server.listen(socketPath, () => ok()))
    try {
      const result = await jit(['ssh-proxy', socketPath], { input: 'ssh-2.0-openssh_9.2\r\n' })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toBe('SSH-2.0-OPENSSH_9.2\r\n')
    } finally {
      server.close()
      cleanup(dir)
    }
  })
})

describe('a keychain binding changed after the build is refused', () => {
  it('an executable whose embedded native file was altered refuses to load it (exit 6, both hashes named)', async () => {
    const bytes = readFileSync(exe)
    const native = readFileSync(cachedKeyringFile(keyringVersion))
    const probe = native.subarray(native.length >> 1, (native.length >> 1) + 256)
    const at = bytes.indexOf(probe)
    expect(at).toBeGreaterThan(0)
    expect(bytes.indexOf(probe, at + 1)).toBe(-1)
    bytes[at + 100] ^= 0xff
    const dir = tempDir('jit-tampered-')
    const tampered = join(dir, 'jit')
    writeFileSync(tampered, bytes, { mode: 0o755 })
    testSingleExecutable(tampered, { PATH: path, TMPDIR: tmp })
    try {
      const home = tempDir()
      const result = await jit(['login', '--broker', 'http://127.0.0.1:9', '--json'], { home, env: { JIT_ENROLL_CODE: 'ABCD-EFGH' } })
      expect(result.code).toBe(6)
      const error = result.json().error
      expect(error.message).toMatch(/Refusing to load the keychain binding: the native file embedded in this executable \(keyring\.node\) has changed since it was built \(SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}\)/)
      expect(error.keychain).toBe('binding-refused')
      const version = await jit(['version', '--json'], { home })
      expect(version.json().keychain).toMatchObject({ state: 'unavailable' })
      cleanup(home)
    } finally {
      testSingleExecutable(exe, { PATH: path, TMPDIR: tmp })
      cleanup(dir)
    }
  })

  it('a private copy overwritten in the temp folder is written again from the embedded file before loading', async () => {
    const dir = join(tmp, `jit-native-${process.getuid!()}`)
    const [copy] = readdirSync(dir)
    writeFileSync(join(dir, copy), 'not a shared library')
    const result = await jit(['version', '--json'], { home: tempDir() })
    expect(result.json().keychain.state).toBe('available')
    expect(createHash('sha256').update(readFileSync(join(dir, copy))).digest('hex')).toBe(copy.split('-')[0])
    expect(existsSync(join(dir, copy))).toBe(true)
  })
})
