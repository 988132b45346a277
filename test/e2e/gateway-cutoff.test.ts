// Live cut-off at the asset: a real TCP service as the asset, a real gateway process in front of
// it, a real `jit connect` tunnelling to it. Bytes flow while the session is active; every way a
// session ends closes the open connection (generously timed: the latency figure is the bench's).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, startBroker, type TestBroker } from './harness.js'
import { encodeFrame } from '../../src/wire/gateway.js'
import { signPossessionProof } from '../../src/wire/proof-of-possession.js'
import { GW_ASSET, deviceKeyOf, frontAssets, probe, rawTunnel, selfSignedCert, startConnect, startEchoAsset, startGateway, type TestGateway } from './gateway-helpers.js'
import { sessionRow, waitFor } from './revocation-helpers.js'

const CLOSE_WITHIN_MS = 2000
const access = ['--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m']

let broker: TestBroker
let gateway: TestGateway
let asset: Awaited<ReturnType<typeof startEchoAsset>>
let alice: string

beforeAll(async () => {
  broker = await startBroker({ args: ['--heartbeat-grace', '2s'] })
  asset = await startEchoAsset()
  const token = await frontAssets(broker, 'gw-line-3', [{ path: GW_ASSET, port: asset.port }])
  gateway = await startGateway(broker, { name: 'gw-line-3', token, cert: selfSignedCert() })
  alice = await broker.enroll('alice', ['technician'])
})

afterAll(async () => {
  await gateway?.stop()
  await asset?.close()
  await broker?.stop()
  cleanup(broker.dataDir, alice)
})

function connectionRecord(sessionId: string): Promise<{ actor: string; data: Record<string, unknown> }> {
  return waitFor('the connection record', async () => (await broker.withStore((store) => store.auditLog.events({ sessionId }))).find((e) => e.type === 'gateway.connection'))
}

/** Opens a tunnel, proves bytes flow, ends the session with `end`, and measures the cut. */
async function cutBy(home: string, end: (sessionId: string) => Promise<unknown>): Promise<{ sessionId: string; closedAfterMs: number }> {
  const connect = await startConnect(home, [GW_ASSET, ...access])
  try {
    const client = await probe(connect.port)
    expect(await client.roundTrip('MODBUS READ 40001\n')).toBe('MODBUS READ 40001\n')
    const started = performance.now()
    await end(connect.sessionId)
    const closedAt = await Promise.race([client.closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 15_000))])
    return { sessionId: connect.sessionId, closedAfterMs: closedAt - started }
  } finally {
    connect.process.kill('SIGTERM')
    await connect.exited
  }
}

describe('the gateway cuts a live connection when its session ends', () => {
  it('bytes flow both ways while the session is active, and the broker records the connection', async () => {
    const connect = await startConnect(alice, [GW_ASSET, ...access])
    const client = await probe(connect.port)
    const payload = 'x'.repeat(200_000)
    expect((await client.roundTrip(payload)).length).toBe(payload.length)
    client.socket.end()
    await client.closed
    connect.process.kill('SIGINT')
    expect((await connect.exited).code).toBe(0)
    expect((await sessionRow(broker, connect.sessionId)).state).toBe('revoked')
    const record = await connectionRecord(connect.sessionId)
    expect(record.actor).toBe('verifier:gw-line-3')
    expect(record.data).toMatchObject({ sessionId: connect.sessionId, asset: GW_ASSET, bytesToAsset: payload.length, bytesFromAsset: payload.length, endCause: 'client-closed' })
    expect(String(record.data.from)).toMatch(/^127\.0\.0\.1:\d+$/)
    // The gateway's check counts as verification by an asset.
    expect(((await sessionRow(broker, connect.sessionId)) as { last_verified_at?: string | null }).last_verified_at).toMatch(/^\d{4}-/)
  })

  it('jit revoke from another terminal', async () => {
    const { closedAfterMs, sessionId } = await cutBy(alice, (id) => jit(['revoke', id], { home: alice }))
    expect(closedAfterMs).toBeLessThan(CLOSE_WITHIN_MS)
    expect((await sessionRow(broker, sessionId)).state).toBe('revoked')
    expect((await connectionRecord(sessionId)).data.endCause).toBe('revoked')
  })

  it('TTL expiry at the broker', async () => {
    // A tunnel held by a plain client (no jit connect, so no heartbeat that could revoke first):
    // only the broker's expiry ends this session.
    const requested = await jit(['request', '--ticket', 'WO-104233', '--asset', GW_ASSET, '--scope', 'read', '--ttl', '10m', '--reason', 'expiry', '--json'], { home: alice })
    const sessionId = requested.json().request.sessionId as string
    const token = (await jit(['credential', sessionId, '--format', 'raw'], { home: alice })).stdout.trim()
    const tunnel = await rawTunnel(gateway.address)
    const key = await deviceKeyOf(alice)
    const jti = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti
    const proof = signPossessionProof(key, { challenge: tunnel.challenge.nonce, verifier: 'gw-line-3', token, jti, asset: GW_ASSET, nowEpoch: Date.now() / 1000 })
    tunnel.socket.write(encodeFrame({ type: 'open', asset: GW_ASSET, token, proof }))
    expect(await tunnel.reply()).toMatchObject({ type: 'ok', sessionId })
    const closed = new Promise<number>((ok) => tunnel.socket.once('close', () => ok(performance.now())))
    const started = performance.now()
    // The session's time runs out now: the broker's own sweeper ends it.
    await broker.withStore((store) => store.execute('UPDATE sessions SET expires_at = ? WHERE id = ?', [Math.floor(Date.now() / 1000), sessionId]))
    const closedAt = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 15_000))])
    // The sweeper runs every second; the cut follows the sweep.
    expect(closedAt - started).toBeLessThan(CLOSE_WITHIN_MS + 1000)
    expect((await sessionRow(broker, sessionId)).state).toBe('expired')
    expect((await connectionRecord(sessionId)).data.endCause).toBe('expired')
  })

  // Without a command, jit connect holds the tunnel until the session ends: ended elsewhere, it
  // stops by itself and its exit code says the session is over (4, as for a session that ended
  // before a command could start), its message and --json say how (revoked by whom, or expired).
  for (const how of ['revoked', 'expired'] as const) {
    it(`jit connect without a command stops by itself when its session is ${how} elsewhere: exit 4, saying why`, async () => {
      const connect = await startConnect(alice, [GW_ASSET, ...access, '--json'])
      try {
        const client = await probe(connect.port)
        expect(await client.roundTrip('ping\n')).toBe('ping\n')
        if (how === 'revoked') expect((await jit(['revoke', connect.sessionId, '--reason', 'shift over'], { home: alice })).code).toBe(0)
        else await broker.withStore((store) => store.execute('UPDATE sessions SET expires_at = ? WHERE id = ?', [Math.floor(Date.now() / 1000), connect.sessionId]))
        await client.closed
        // Heartbeats every grace/3 (the broker here: 2 s): it hears of the end within a beat or two.
        const exited = await Promise.race([connect.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 10_000))])
        expect(exited, connect.stderr()).toEqual({ code: 4, signal: null })
        const out = JSON.parse(connect.stdout())
        expect(out).toMatchObject({ sessionId: connect.sessionId, exitCode: 4, endedByBroker: how === 'revoked' ? 'revoked by alice: shift over' : 'expired' })
        expect(connect.stderr()).toContain(how === 'revoked' ? `Session ${connect.sessionId} was revoked by alice: shift over` : `Session ${connect.sessionId} expired`)
        // Its end as recorded: by the revocation, or by the broker's sweeper (every second) once past expiry.
        await waitFor(`the session ${how}`, async () => (await sessionRow(broker, connect.sessionId)).state === how, 5000)
      } finally {
        connect.process.kill('SIGKILL')
      }
    })
  }

  it('jit connect killed outright: the broker reaps the session after the heartbeat grace', async () => {
    const connect = await startConnect(alice, [GW_ASSET, ...access])
    const client = await probe(connect.port)
    expect(await client.roundTrip('ping\n')).toBe('ping\n')
    // The tunnel runs inside jit connect: SIGKILL ends it too. What matters is that the gateway
    // does not keep the asset side open, and the broker ends the session after the grace.
    connect.process.kill('SIGKILL')
    await connect.exited
    await client.closed
    await waitFor('the asset side to close', () => asset.open() === 0, 5000)
    const row = await waitFor('the reaper', async () => {
      const r = await sessionRow(broker, connect.sessionId)
      return r.state === 'revoked' && r
    }, 10_000)
    expect(row.end_reason).toMatch(/heartbeat lost/)
  })

  it('jit logout on the same device', async () => {
    const bob = await broker.enroll('bob', ['technician'])
    try {
      const { closedAfterMs, sessionId } = await cutBy(bob, () => jit(['logout'], { home: bob }))
      expect(closedAfterMs).toBeLessThan(CLOSE_WITHIN_MS)
      expect((await sessionRow(broker, sessionId)).state).toBe('revoked')
      expect((await connectionRecord(sessionId)).data.endCause).toBe('logout')
    } finally {
      cleanup(bob)
    }
  })

  it('an operator revoking the device (a stolen laptop)', async () => {
    const carl = await broker.enroll('carl', ['technician'])
    try {
      const deviceId = JSON.parse(readFileSync(join(carl, 'config.json'), 'utf8')).profiles.default.deviceId as string
      const { closedAfterMs, sessionId } = await cutBy(carl, () => jit(['admin', 'device', 'revoke', deviceId, '--reason', 'laptop stolen', ...broker.storeArgs], {}))
      expect(closedAfterMs).toBeLessThan(CLOSE_WITHIN_MS)
      expect((await sessionRow(broker, sessionId)).state).toBe('revoked')
      expect((await connectionRecord(sessionId)).data.endCause).toBe('device-revoked')
    } finally {
      cleanup(carl)
    }
  })

  it('jit connect reuses a live cached session for the same asset, scope and ticket, and revokes it at the end', async () => {
    const requested = await jit(['request', '--ticket', 'WO-104233', '--asset', GW_ASSET, '--scope', 'read', '--ttl', '10m', '--reason', 'reuse', '--json'], { home: alice })
    const sessionId = requested.json().request.sessionId as string
    const connect = await startConnect(alice, [GW_ASSET, '--ticket', 'WO-104233', '--scope', 'read', '--json'])
    expect(connect.sessionId).toBe(sessionId)
    expect(await (await probe(connect.port)).roundTrip('reused\n')).toBe('reused\n')
    connect.process.kill('SIGTERM')
    expect((await connect.exited).code).toBe(0)
    expect(JSON.parse(connect.stdout())).toMatchObject({ sessionId, reused: true, revoked: true })
    expect((await sessionRow(broker, sessionId)).state).toBe('revoked')
  })

  it('jit connect -- CMD: JIT_LOCAL_PORT reaches the command, and its end revokes the session', async () => {
    const script = 'exec node -e "const s=require(\'net\').connect(+process.env.JIT_LOCAL_PORT,\'127.0.0.1\');s.write(\'hi\\n\');s.on(\'data\',d=>{process.stdout.write(d);s.end()});s.on(\'close\',()=>process.exit(7))"'
    const result = await jit(['connect', GW_ASSET, ...access, '--json', '--', 'sh', '-c', script], { home: alice })
    expect(result.code).toBe(7)
    const out = result.stdout
    expect(out.startsWith('hi\n')).toBe(true)
    const summary = JSON.parse(out.slice(3))
    expect(summary).toMatchObject({ exitCode: 7, revoked: true, asset: GW_ASSET, gateway: 'gw-line-3' })
    expect((await sessionRow(broker, summary.sessionId)).state).toBe('revoked')
  })

  it('jit connect -- CMD hands the command the local port, not the credential', async () => {
    const result = await jit(['connect', GW_ASSET, ...access, '--', 'sh', '-c', 'echo "port=${JIT_LOCAL_PORT:-} token=${JIT_TOKEN:-none}"'], { home: alice })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^port=\d+ token=none$/m)
  })
})

describe('jit connect on a broker with the default heartbeat grace (60 s: a beat every 20 s)', () => {
  let slow: TestBroker
  let slowGateway: TestGateway
  let slowAsset: Awaited<ReturnType<typeof startEchoAsset>>
  let dana: string

  beforeAll(async () => {
    slow = await startBroker()
    slowAsset = await startEchoAsset()
    const token = await frontAssets(slow, 'gw-line-3', [{ path: GW_ASSET, port: slowAsset.port }])
    slowGateway = await startGateway(slow, { name: 'gw-line-3', token, cert: selfSignedCert() })
    dana = await slow.enroll('dana', ['technician'])
  })

  afterAll(async () => {
    await slowGateway?.stop()
    await slowAsset?.close()
    await slow?.stop()
    cleanup(slow.dataDir, dana)
  })

  it('a tunnel the gateway cuts makes jit connect ask the broker at once: it stops within moments of the revocation, not at the next beat', async () => {
    const connect = await startConnect(dana, [GW_ASSET, ...access])
    try {
      const client = await probe(connect.port)
      expect(await client.roundTrip('ping\n')).toBe('ping\n')
      const revokedAt = performance.now()
      expect((await jit(['revoke', connect.sessionId, '--reason', 'line down'], { home: dana })).code).toBe(0)
      const exited = await Promise.race([connect.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 10_000))])
      expect(exited, connect.stderr()).toEqual({ code: 4, signal: null })
      expect(performance.now() - revokedAt).toBeLessThan(10_000)
      expect(connect.stderr()).toContain(`Session ${connect.sessionId} was revoked by dana: line down`)
    } finally {
      connect.process.kill('SIGKILL')
    }
  })
})
