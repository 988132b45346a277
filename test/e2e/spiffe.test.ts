// SPIFFE credentials from the broker's CA: the bundle as the broker serves and exports it, X.509-SVIDs
// checked by openssl and used for mTLS with Node's TLS server and with a stock Mosquitto (refused
// there once expired), JWT-SVIDs that verify with the bundle's keys, and bad input refused with a
// 400 and nothing recorded.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { connect, createServer, type Server, type TLSSocket } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURE_POLICY, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { freePort } from './free-port.js'
import type { BrokerContext } from '../../src/broker/context.js'
import type { Store } from '../../src/broker/store/store.js'
import { loadOrCreateSpiffeAuthority, type SpiffeAuthority } from '../../src/broker/spiffe/authority.js'
import { issueX509Svid } from '../../src/broker/spiffe/x509-svid.js'
import { jwtSvidForWorkload, x509SvidForWorkload } from '../../src/broker/spiffe/routes.js'
import { ApiError } from '../../src/broker/api-error.js'

const TRUST_DOMAIN = 'plant-a.example'
const WORKLOAD = `spiffe://${TRUST_DOMAIN}/workload/historian-export`
const SERVER = `spiffe://${TRUST_DOMAIN}/service/mqtt`

let broker: TestBroker
let authority: SpiffeAuthority
let dir: string
let bundlePem: string

const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** A workload's key and CSR made by openssl, as a workload would; extra names its -addext. */
function keyAndCsr(name: string, ...extra: string[]): { key: string; csr: string } {
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`, ...extra)
  return { key: join(dir, `${name}.key`), csr: readFileSync(join(dir, `${name}.csr`), 'utf8') }
}

/** An SVID written beside its key: returns the certificate's path. */
async function svidFile(name: string, spiffeId: string, seconds = 600): Promise<{ cert: string; key: string }> {
  const { key, csr } = keyAndCsr(name)
  const svid = await issueX509Svid(authority, { spiffeId, csrPem: csr, notAfter: new Date(Date.now() + seconds * 1000) })
  writeFileSync(join(dir, `${name}.pem`), svid.certificate)
  return { cert: join(dir, `${name}.pem`), key }
}

/** Only what the issuing handlers read of the broker's context. */
const contextOn = (store: Store): BrokerContext => ({ store, spiffe: authority, now: Date.now }) as unknown as BrokerContext

beforeAll(async () => {
  dir = tempDir('jit-spiffe-')
  broker = await startBroker({ args: ['--trust-domain', TRUST_DOMAIN] })
  // The keys the broker made on its start, read from its data folder as the broker does.
  authority = await loadOrCreateSpiffeAuthority(broker.dataDir, TRUST_DOMAIN)
  const exported = await jit(['admin', 'spiffe', 'bundle', 'export', '--data', broker.dataDir, '--format', 'pem', '--out', join(dir, 'bundle.pem')])
  expect(exported.code, exported.stderr).toBe(0)
  bundlePem = readFileSync(join(dir, 'bundle.pem'), 'utf8')
  // A client certificate of another CA (with the same SPIFFE ID): what no server trusting the bundle may accept.
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-subj', '/CN=other CA', '-days', '1')
  const { csr } = keyAndCsr('stranger', '-addext', `subjectAltName=URI:${WORKLOAD}`)
  writeFileSync(join(dir, 'stranger.csr'), csr)
  openssl('x509', '-req', '-in', 'stranger.csr', '-CA', 'other-ca.pem', '-CAkey', 'other-ca.key', '-CAcreateserial', '-copy_extensions', 'copy', '-out', 'stranger.pem', '-days', '1')
})

afterAll(async () => {
  await broker?.stop()
  cleanup(dir, broker?.dataDir)
})

describe('the SPIFFE trust bundle', () => {
  it('is served at GET /v1/spiffe/bundle in the SPIFFE format and exported the same by jit admin spiffe bundle export', async () => {
    const response = await fetch(`${broker.url}/v1/spiffe/bundle`)
    expect(response.status).toBe(200)
    const bundle = (await response.json()) as { keys: (JWK & { use: string })[]; spiffe_sequence: number; spiffe_refresh_hint: number }
    expect(bundle.keys.map((key) => key.use).sort()).toEqual(['jwt-svid', 'x509-svid'])
    const x509Key = bundle.keys.find((key) => key.use === 'x509-svid')!
    expect(x509Key.x5c).toHaveLength(1)
    const ca = new X509Certificate(Buffer.from(x509Key.x5c![0], 'base64'))
    expect(ca.ca).toBe(true)
    expect(ca.subjectAltName).toBe(`URI:spiffe://${TRUST_DOMAIN}`)
    expect(ca.toString()).toBe(new X509Certificate(bundlePem).toString())
    const jwtKey = bundle.keys.find((key) => key.use === 'jwt-svid')!
    expect(jwtKey.kid).toBeTruthy()
    expect(jwtKey).not.toHaveProperty('d')
    expect(typeof bundle.spiffe_sequence).toBe('number')

    const exported = await jit(['admin', 'spiffe', 'bundle', 'export', '--data', broker.dataDir, '--json'])
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.json().bundle).toEqual(bundle)
    expect(exported.json().trustDomain).toBe(TRUST_DOMAIN)
  })

  it('a broker started with a trust domain that is not one refuses to start (exit 2) and makes no key', async () => {
    const data = tempDir('jit-spiffe-bad-td-')
    const result = await jit(['broker', 'start', '--data', data, '--policy', FIXTURE_POLICY, '--listen', '127.0.0.1:0', '--trust-domain', 'Plant A'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Trust domain "Plant A" is not valid')
    expect(execFileSync('ls', ['-A', data], { encoding: 'utf8' })).toBe('')
    cleanup(data)
  })

  it('export to a folder that does not exist is a usage error', async () => {
    const result = await jit(['admin', 'spiffe', 'bundle', 'export', '--data', broker.dataDir, '--out', join(dir, 'no-such-folder', 'bundle.json')])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('Cannot write')
  })

  it('export from a folder with no SPIFFE CA is a usage error and makes none', async () => {
    const empty = tempDir('jit-spiffe-empty-')
    const result = await jit(['admin', 'spiffe', 'bundle', 'export', '--data', empty])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('holds no SPIFFE CA')
    expect(execFileSync('ls', ['-A', empty], { encoding: 'utf8' })).toBe('')
    cleanup(empty)
  })
})

describe('X.509-SVIDs', () => {
  it('carry the SPIFFE ID as their one URI SAN and verify with the bundle (openssl verify), unlike a certificate of another CA', async () => {
    const { cert } = await svidFile('workload', WORKLOAD)
    const leaf = new X509Certificate(readFileSync(cert))
    expect(leaf.subjectAltName).toBe(`URI:${WORKLOAD}`)
    expect(leaf.ca).toBe(false)
    expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1']))
    expect(openssl('verify', '-CAfile', 'bundle.pem', cert)).toContain(': OK')

    expect(() => openssl('verify', '-CAfile', 'bundle.pem', 'stranger.pem')).toThrow(/unable to get local issuer certificate/)
  })

  it('end no later than the session that asked', async () => {
    const { csr } = keyAndCsr('short')
    const sessionEnd = new Date(Date.now() + 90_000)
    const svid = await issueX509Svid(authority, { spiffeId: WORKLOAD, csrPem: csr, notAfter: sessionEnd })
    expect(new Date(svid.notAfter).getTime()).toBeLessThanOrEqual(sessionEnd.getTime())
    expect(new Date(new X509Certificate(svid.certificate).validTo).getTime()).toBeLessThanOrEqual(sessionEnd.getTime())
  })

  it('complete mTLS with a Node TLS server that trusts only the bundle; a client of another CA is refused', async () => {
    const server = await svidFile('tls-server', SERVER)
    const client = await svidFile('tls-client', WORKLOAD)
    const seen: string[] = []
    const tlsServer: Server = createServer({ cert: readFileSync(server.cert), key: readFileSync(server.key), ca: bundlePem, requestCert: true, rejectUnauthorized: true }, (socket) => {
      seen.push(socket.getPeerX509Certificate()?.subjectAltName ?? '')
      socket.end('hello\n')
    })
    const refusals: string[] = []
    tlsServer.on('tlsClientError', (error) => refusals.push(error.message))
    await new Promise<void>((ok) => tlsServer.listen(0, '127.0.0.1', ok))
    const port = (tlsServer.address() as { port: number }).port
    const talk = (cert: string, key: string) =>
      new Promise<string>((ok) => {
        // The server's SVID names a SPIFFE ID, not a host: the client checks the ID instead.
        const socket: TLSSocket = connect({ host: '127.0.0.1', port, cert: readFileSync(cert), key: readFileSync(key), ca: bundlePem, checkServerIdentity: (_host, peer) => (peer.subjectaltname === `URI:${SERVER}` ? undefined : new Error(`server is ${peer.subjectaltname}`)) })
        let text = ''
        socket.on('data', (d) => (text += d))
        socket.on('end', () => ok(text))
        // Under TLS 1.3 the server refuses a client certificate after the client's side of the handshake: the refusal comes as an alert.
        socket.on('error', (error) => ok(`refused: ${error.message}`))
      })
    try {
      expect(await talk(client.cert, client.key)).toBe('hello\n')
      expect(seen).toEqual([`URI:${WORKLOAD}`])
      expect(await talk(join(dir, 'stranger.pem'), join(dir, 'stranger.key'))).not.toBe('hello\n')
      expect(seen).toHaveLength(1)
      // Node names no reason (it drops the handshake it refused), but the refusal was the server's.
      expect(refusals).toHaveLength(1)
    } finally {
      tlsServer.close()
    }
  })
})

describe('X.509-SVIDs with Mosquitto (client-certificate authentication)', () => {
  let mosquitto: ChildProcess | undefined
  let port: number
  let mosquittoLog = ''

  beforeAll(async () => {
    const server = await svidFile('mqtt-server', SERVER, 3600)
    port = await freePort()
    const config = join(dir, 'mosquitto.conf')
    writeFileSync(config, [
      `listener ${port} 127.0.0.1`,
      'require_certificate true',
      'use_identity_as_username true',
      `cafile ${join(dir, 'bundle.pem')}`,
      `certfile ${server.cert}`,
      `keyfile ${server.key}`,
      // Started as root, Mosquitto would drop to its own user, who cannot read this test's files.
      `user ${userInfo().username}`,
      'persistence false',
      'log_dest stderr',
      '',
    ].join('\n'))
    mosquitto = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] })
    mosquitto.stderr!.on('data', (d) => (mosquittoLog += d))
    // Listening once a plain TCP connect succeeds.
    const { createConnection } = await import('node:net')
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((ok) => createConnection({ host: '127.0.0.1', port }).once('connect', function (this: import('node:net').Socket) { this.destroy(); ok(true) }).once('error', () => ok(false)))
      if (up) return
      await new Promise((ok) => setTimeout(ok, 100))
    }
    throw new Error(`mosquitto did not start: ${mosquittoLog}`)
  })

  afterAll(() => {
    mosquitto?.kill('SIGTERM')
  })

  /** mosquitto_pub's exit code and output (--insecure: the server's SVID names no host; its chain is still checked). */
  const publish = (cert: string, key: string) => {
    try {
      execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '--cafile', join(dir, 'bundle.pem'), '--cert', cert, '--key', key, '--insecure', '-t', 'plant-a/line-3/historian', '-m', 'export done', '-q', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 })
      return { code: 0, output: '' }
    } catch (error) {
      const failed = error as { status: number | null; stderr: string; stdout: string }
      return { code: failed.status ?? -1, output: `${failed.stdout}${failed.stderr}` }
    }
  }

  it('accepts a client with an X.509-SVID and refuses it once the SVID has expired', async () => {
    const svid = await svidFile('mqtt-client', WORKLOAD, 4)
    const before = publish(svid.cert, svid.key)
    expect(before, mosquittoLog).toEqual({ code: 0, output: '' })
    const expiry = new X509Certificate(readFileSync(svid.cert)).validTo
    await new Promise((ok) => setTimeout(ok, new Date(expiry).getTime() - Date.now() + 1500))
    const after = publish(svid.cert, svid.key)
    expect(after.code).not.toBe(0)
    // Refused in the TLS handshake, for the certificate; that it is for its expiry alone, openssl shows on the same files.
    for (let i = 0; i < 50 && !/certificate verify failed/i.test(mosquittoLog); i++) await new Promise((ok) => setTimeout(ok, 100))
    expect(mosquittoLog).toMatch(/certificate verify failed/i)
    expect(() => openssl('verify', '-CAfile', 'bundle.pem', svid.cert)).toThrow(/certificate has expired/)
  }, 30_000)

  it('refuses a client certificate of another CA', () => {
    expect(publish(join(dir, 'stranger.pem'), join(dir, 'stranger.key')).code).not.toBe(0)
  })
})

describe('JWT-SVIDs', () => {
  it('verify with the bundle\'s jwt-svid key for their audience, and validate through the broker', async () => {
    const svid = await broker.withStore((store) => jwtSvidForWorkload(contextOn(store), { spiffeId: WORKLOAD, sessionExpiresAt: new Date(Date.now() + 600_000) }, { audience: 'historian' }))
    const bundle = (await (await fetch(`${broker.url}/v1/spiffe/bundle`)).json()) as { keys: (JWK & { use: string })[] }
    // A SPIFFE bundle's `use` is "jwt-svid", which a plain JOSE library does not know (it takes "sig" or none): a SPIFFE consumer maps it.
    const keys = createLocalJWKSet({ keys: bundle.keys.filter((key) => key.use === 'jwt-svid').map(({ use: _use, ...key }) => key) })
    const { payload, protectedHeader } = await jwtVerify(svid.token, keys, { audience: 'historian' })
    expect(payload.sub).toBe(WORKLOAD)
    expect(protectedHeader.alg).toBe('ES256')
    expect(payload.exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(300)
    await expect(jwtVerify(svid.token, keys, { audience: 'someone-else' })).rejects.toThrow()

    const validate = (token: string, audience: string) => fetch(`${broker.url}/v1/spiffe/jwt-svids/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, audience }) })
    const ok = await validate(svid.token, 'historian')
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ spiffeId: WORKLOAD, audience: ['historian'] })
    expect((await validate(svid.token, 'someone-else')).status).toBe(401)

    // The same claims unsigned ("alg": "none"): refused as not a JWT-SVID, before its claims are read.
    const [, claims] = svid.token.split('.')
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${claims}.`
    const refused = await validate(unsigned, 'historian')
    expect(refused.status).toBe(400)
    expect(JSON.stringify(await refused.json())).toContain('algorithm \\"none\\" is not one a JWT-SVID may use')
  })
})

describe('bad input gets a 400 and changes nothing', () => {
  const session = { spiffeId: WORKLOAD, sessionExpiresAt: new Date(Date.now() + 600_000) }
  const refusal = async (body: { csr: string }) =>
    broker.withStore(async (store) => {
      const before = (await store.auditLog.events()).length
      const error = await x509SvidForWorkload(contextOn(store), session, body).then(() => undefined, (e: unknown) => e)
      return { error, written: (await store.auditLog.events()).length - before }
    })

  it('a well-formed request is issued and audited (the control for the refusals below)', async () => {
    const { csr } = keyAndCsr('audited')
    const result = await broker.withStore(async (store) => {
      const before = (await store.auditLog.events()).length
      const svid = await x509SvidForWorkload(contextOn(store), session, { csr })
      const events = await store.auditLog.events()
      return { svid, written: events.length - before, last: events.at(-1)! }
    })
    expect(result.written).toBe(1)
    expect(result.last).toMatchObject({ type: 'spiffe.x509-svid.issued', actor: WORKLOAD, data: { serialNumber: result.svid.serialNumber } })
  })

  it.each([
    ['a malformed CSR', () => '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n', /could not be read as PKCS#10/],
    ['text that is no CSR at all', () => 'hello', /not a PEM certificate request/],
    ['a CSR for another SPIFFE ID', () => keyAndCsr('other-id', '-addext', `subjectAltName=URI:spiffe://${TRUST_DOMAIN}/workload/someone-else`).csr, /may only have spiffe:\/\/plant-a\.example\/workload\/historian-export/],
    ['a CSR that adds a DNS name to the SPIFFE ID', () => keyAndCsr('extra-name', '-addext', `subjectAltName=URI:${WORKLOAD},DNS:historian.plant-a`).csr, /may only have/],
    ['a CSR whose signature does not verify', () => tamper(keyAndCsr('tampered').csr), /signature does not verify/],
  ])('%s', async (_name, csr, message) => {
    const { error, written } = await refusal({ csr: csr() })
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(400)
    expect((error as ApiError).message).toMatch(message)
    expect(written).toBe(0)
  })

  it('a session that has ended gets no SVID', async () => {
    const { csr } = keyAndCsr('late')
    const written = await broker.withStore(async (store) => {
      const before = (await store.auditLog.events()).length
      await expect(x509SvidForWorkload(contextOn(store), { spiffeId: WORKLOAD, sessionExpiresAt: new Date(Date.now() - 1000) }, { csr })).rejects.toMatchObject({ status: 400 })
      return (await store.auditLog.events()).length - before
    })
    expect(written).toBe(0)
  })
})

/** The CSR with one bit of its signature flipped. */
function tamper(csrPem: string): string {
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
  der[der.length - 5] ^= 0x01
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n')
  return `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`
}
