// Shared by the gateway scenarios: a real TCP echo service as the asset, a self-signed certificate
// made by openssl, a real `jit gateway start` process, a real `jit connect` process, and a client
// that measures when its tunnelled connection is closed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { jitProcess, tempDir, type TestBroker } from './harness.js'

export const GW_ASSET = 'plant-a/line-3/cell-2/plc-07'
export const OTHER_ASSET = 'plant-a/line-3/cell-2/hmi-01'

/** A TCP echo service standing in for a PLC: the quickstart tour's own. */
export { startEchoAsset } from '../../src/quickstart/gateway-tour.js'

export function selfSignedCert(dir = tempDir('jit-gw-cert-')): { cert: string; key: string } {
  const cert = join(dir, 'gw.pem')
  const key = join(dir, 'gw-key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=jit-gateway-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  return { cert, key }
}

export interface TestGateway {
  address: string
  /** Its --data folder (give it to a restarted gateway of the same name). */
  dataDir: string
  process: ChildProcess
  log(): string
  stop(signal?: NodeJS.Signals): Promise<void>
}

export async function startGateway(broker: { url: string }, options: { name: string; token: string; cert: { cert: string; key: string }; args?: string[]; port?: number; dataDir?: string }): Promise<TestGateway> {
  const dir = tempDir('jit-gw-')
  const dataDir = options.dataDir ?? join(dir, 'data')
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, options.token, { mode: 0o600 })
  const run = jitProcess(['gateway', 'start', '--broker', broker.url, '--listen', `127.0.0.1:${options.port ?? 0}`, '--name', options.name, '--token-file', tokenFile, '--tls-cert', options.cert.cert, '--tls-key', options.cert.key, '--data', dataDir, ...(options.args ?? [])])
  const child = spawn(run.command, run.args, { stdio: ['ignore', 'pipe', 'pipe'], env: run.env })
  let log = ''
  child.stderr.on('data', (d) => (log += d))
  const address = await new Promise<string>((ok, fail) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n').find((l) => /^[\d.]+:\d+$/.test(l.trim()))
      if (line) ok(line.trim())
    })
    child.once('exit', (code) => fail(new Error(`gateway exited ${code}: ${log}`)))
  })
  const exited = new Promise<void>((ok) => (child.exitCode !== null ? ok() : child.once('exit', () => ok())))
  return {
    address,
    dataDir,
    process: child,
    log: () => log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}

/** Registers a verifier for the gateway and puts assets behind it. */
export async function frontAssets(broker: TestBroker, gateway: string, assets: { path: string; port: number; scopes?: string[]; terminal?: boolean }[]): Promise<string> {
  const token = await broker.addVerifier(gateway)
  for (const asset of assets) {
    await broker.addAsset(asset.path, { state: 'running', gateway, endpoint: `127.0.0.1:${asset.port}`, ...(asset.scopes ? { endpointScopes: asset.scopes } : {}), ...(asset.terminal ? { terminal: true } : {}) })
  }
  return token
}

export interface TestConnect {
  process: ChildProcess
  port: number
  sessionId: string
  stderr(): string
  stdout(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `jit connect` (no command) and waits until its local port listens. */
export async function startConnect(home: string, args: string[], extraEnv: Record<string, string> = {}): Promise<TestConnect> {
  const run = jitProcess(['connect', ...args], { JIT_HOME: home, ...extraEnv })
  const child = spawn(run.command, run.args, { env: run.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let stdout = ''
  child.stdout.on('data', (d) => (stdout += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.once('exit', (code, signal) => ok({ code, signal })))
  const { port, sessionId } = await new Promise<{ port: number; sessionId: string }>((ok, fail) => {
    child.stderr.on('data', (d) => {
      stderr += d
      const match = /Session (\S+) .*listening on 127\.0\.0\.1:(\d+)/.exec(stderr)
      if (match) ok({ sessionId: match[1], port: Number(match[2]) })
    })
    void exited.then((r) => fail(new Error(`jit connect exited ${r.code ?? r.signal}: ${stderr}${stdout}`)))
  })
  return { process: child, port, sessionId, stderr: () => stderr, stdout: () => stdout, exited }
}

export interface Probe {
  socket: Socket
  /** Sends a line and resolves with what comes back (the echo). */
  roundTrip(text: string): Promise<string>
  /** Resolves with the time (ms, performance.now()) the connection was closed. */
  closed: Promise<number>
  isClosed(): boolean
}

export async function probe(port: number): Promise<Probe> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  let closedFlag = false
  const closed = new Promise<number>((ok) => socket.once('close', () => {
    closedFlag = true
    ok(performance.now())
  }))
  await new Promise<void>((ok, fail) => {
    socket.once('connect', () => ok())
    socket.once('error', fail)
  })
  let buffer = ''
  const waiters: ((s: string) => void)[] = []
  socket.on('data', (d) => {
    buffer += d
    if (waiters.length > 0) waiters.shift()!(buffer)
  })
  return {
    socket,
    closed,
    isClosed: () => closedFlag,
    roundTrip(text) {
      buffer = ''
      socket.write(text)
      return new Promise<string>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`no echo of ${text}`)), 10_000)
        const check = (got: string) => {
          if (got.length >= text.length) {
            clearTimeout(timer)
            ok(got)
          } else waiters.push(check)
        }
        waiters.push(check)
        void closed.then(() => {
          clearTimeout(timer)
          fail(new Error('closed before the echo'))
        })
      })
    },
  }
}

/** A connection through the tunnel that the gateway refuses: closed without an echo. */
export async function expectNoEcho(port: number): Promise<void> {
  const p = await probe(port).catch(() => undefined)
  if (!p) return
  p.socket.write('hello?\n')
  let got = ''
  p.socket.on('data', (d) => (got += d))
  await Promise.race([p.closed, new Promise((r) => setTimeout(r, 10_000))])
  if (!p.isClosed()) throw new Error('the connection stayed open')
  if (got.length > 0) throw new Error(`bytes came back: ${got}`)
}

/** Speaks the tunnel protocol directly (no jit connect): for tokens on the wrong device, bad frames. */
export async function rawTunnel(address: string): Promise<{ socket: import('node:tls').TLSSocket; challenge: { nonce: string; gateway: string }; reply(): Promise<Record<string, unknown> | 'closed'> }> {
  const { connect: tlsConnect } = await import('node:tls')
  const { FrameReader } = await import('../../src/wire/tunnel-frames.js')
  const [host, port] = address.split(':')
  const socket = tlsConnect({ host, port: Number(port), rejectUnauthorized: false })
  socket.on('error', () => {})
  const reader = new FrameReader()
  const frames: (Record<string, unknown> | 'closed')[] = []
  const waiters: ((f: Record<string, unknown> | 'closed') => void)[] = []
  const deliver = (f: Record<string, unknown> | 'closed') => (waiters.length ? waiters.shift()!(f) : frames.push(f))
  // After "ok" the connection carries the asset's bytes: no more frames to read.
  let streaming = false
  socket.on('data', (chunk: Buffer) => {
    if (streaming) return
    let result = reader.push(chunk)
    while (result) {
      deliver(result.frame)
      if (result.frame.type === 'ok') {
        streaming = true
        return
      }
      reader.reset(result.rest)
      result = result.rest.length >= 4 ? reader.push(Buffer.alloc(0)) : undefined
    }
  })
  socket.once('close', () => deliver('closed'))
  const next = () => new Promise<Record<string, unknown> | 'closed'>((ok) => (frames.length ? ok(frames.shift()!) : waiters.push(ok)))
  const challenge = (await next()) as { nonce: string; gateway: string }
  return { socket, challenge, reply: next }
}

export async function deviceKeyOf(home: string): Promise<import('node:crypto').KeyObject> {
  const { readFileSync } = await import('node:fs')
  const { createPrivateKey } = await import('node:crypto')
  const { AsyncEntry } = await import('@napi-rs/keyring')
  const { SERVICE } = await import('../../src/cli/keychain/keychain.js')
  const deviceId = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).profiles.default.deviceId
  const pem = await new AsyncEntry(SERVICE, `device:${deviceId}`).getPassword()
  if (!pem) throw new Error('no device key')
  return createPrivateKey(pem)
}
