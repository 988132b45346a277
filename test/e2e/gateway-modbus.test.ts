// The gateway in front of a Modbus/TCP PLC: a real Modbus server (jsmodbus) as the PLC, a real
// gateway process, real `jit connect` tunnels and a real Modbus client (jsmodbus) through them.
// Reads pass, writes outside what the session's scope was granted are answered with the
// protocol's exception while the connection stays usable, malformed frames close their own
// connection and nothing else, and every write and refusal is in `jit sessions commands`.
import { writeFileSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import Modbus from 'jsmodbus'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { selfSignedCert, startConnect, startGateway, type TestConnect, type TestGateway } from './gateway-helpers.js'
import { waitFor } from './revocation-helpers.js'

const PLC = 'plant-a/line-3/cell-2/plc-07'
const POLICY = `version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
rules:
  - name: plc-diagnose
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [diagnose]
    max_ttl: 1h
  - name: plc-control
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [control]
    max_ttl: 1h
    conditions: { asset_state: [maintenance] }
    modbus:
      writes:
        control:
          - { unit: 1, coils: "0-15", registers: "100-199" }
`

let broker: TestBroker
let gateway: TestGateway
let gatewayToken: string
let plc: { server: Server; holding: Buffer; close(): Promise<void> }
let alice: string

/** A PLC: jsmodbus's TCP server over 512 holding registers, registers 100.. preset to 1000 + n. */
async function startPlc(): Promise<typeof plc> {
  const holding = Buffer.alloc(1024)
  for (let i = 0; i < 512; i++) holding.writeUInt16BE(1000 + i, i * 2)
  const server = createServer()
  new Modbus.server.TCP(server, { holding, coils: Buffer.alloc(64) })
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  return {
    server,
    holding,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((ok) => server.close(() => ok()))
    },
  }
}

beforeAll(async () => {
  const dir = tempDir('jit-modbus-')
  const policy = join(dir, 'policy.yaml')
  writeFileSync(policy, POLICY)
  broker = await startBroker({ policy })
  plc = await startPlc()
  const token = (gatewayToken = await broker.addVerifier('gw-line-3'))
  const port = (plc.server.address() as { port: number }).port
  await broker.addAsset(PLC, { state: 'maintenance', gateway: 'gw-line-3', endpoint: `127.0.0.1:${port}`, protocol: 'modbus-tcp' })
  gateway = await startGateway(broker, { name: 'gw-line-3', token, cert: selfSignedCert() })
  alice = await broker.enroll('alice', ['technician'])
})

afterAll(async () => {
  await gateway?.stop()
  await plc?.close()
  await broker?.stop()
  cleanup(broker.dataDir, alice)
})

interface Client {
  socket: Socket
  modbus: InstanceType<typeof Modbus.client.TCP>
  closed: Promise<void>
  isClosed(): boolean
}

async function modbusClient(port: number, unit = 1): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  let closedFlag = false
  const closed = new Promise<void>((ok) => socket.once('close', () => ((closedFlag = true), ok())))
  // The client learns that it is online from the socket's connect event: made before it.
  const modbus = new Modbus.client.TCP(socket, unit, 5000)
  await new Promise<void>((ok, fail) => (socket.once('connect', () => ok()), socket.once('error', fail)))
  return { socket, modbus, closed, isClosed: () => closedFlag }
}

/** The exception code a request was answered with (the client rejects with the response). */
async function exceptionOf(request: Promise<unknown>): Promise<number> {
  const error = (await request.then(() => undefined, (e: unknown) => e)) as { err?: string; response?: { body: { code: number } } } | undefined
  if (error?.err !== 'ModbusException') throw new Error(`expected a Modbus exception, got ${JSON.stringify(error ?? 'an answer')}`)
  return error.response!.body.code
}

async function holdingRegisters(client: Client, start: number, count: number): Promise<number[]> {
  const { response } = await client.modbus.readHoldingRegisters(start, count)
  return [...(response.body as unknown as { valuesAsArray: number[] }).valuesAsArray]
}

async function commandsOf(sessionId: string, connections: number): Promise<{ connections: { entries: Record<string, unknown>[]; sha256: string; connectionId: string }[] }> {
  return waitFor('the command log', async () => {
    const result = await jit(['sessions', 'commands', sessionId, '--json'], { home: alice })
    expect(result.code).toBe(0)
    const log = JSON.parse(result.stdout) as Awaited<ReturnType<typeof commandsOf>>
    return log.connections.length >= connections ? log : undefined
  })
}

async function stop(connect: TestConnect): Promise<void> {
  connect.process.kill('SIGTERM')
  await connect.exited
}

describe('a Modbus/TCP asset behind the gateway', () => {
  it('a diagnose session reads; its write gets exception 01 and the connection stays usable', async () => {
    const connect = await startConnect(alice, [PLC, '--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m'])
    try {
      const client = await modbusClient(connect.port)
      expect(await holdingRegisters(client, 100, 3)).toEqual([1100, 1101, 1102])
      expect(await exceptionOf(client.modbus.writeSingleRegister(100, 7))).toBe(1)
      expect(await exceptionOf(client.modbus.writeSingleCoil(3, true))).toBe(1)
      expect(plc.holding.readUInt16BE(200)).toBe(1100)
      // Still open, still served.
      expect(await holdingRegisters(client, 100, 1)).toEqual([1100])
      expect(client.isClosed()).toBe(false)
      client.socket.end()
      await client.closed
      const log = await commandsOf(connect.sessionId, 1)
      expect(log.connections[0].entries).toEqual([
        expect.objectContaining({ unit: 1, function: 6, address: 100, count: 1, values: [7], outcome: 'refused', answer: 'exception 1' }),
        expect.objectContaining({ unit: 1, function: 5, address: 3, count: 1, values: [1], outcome: 'refused', answer: 'exception 1' }),
      ])
      // The audit record of the connection carries the log's summary and hash.
      const record = await waitFor('the connection record', async () => (await broker.withStore((store) => store.auditLog.events({ sessionId: connect.sessionId }))).find((e) => e.type === 'gateway.connection'))
      expect(record.data.commands).toEqual({ protocol: 'modbus-tcp', writes: 0, refused: 2, dropped: 0, logged: 2, sha256: log.connections[0].sha256 })
    } finally {
      await stop(connect)
    }
  })

  it('a control session writes inside its range, gets exception 02 outside it, and each is logged with the answer', async () => {
    const connect = await startConnect(alice, [PLC, '--ticket', 'WO-104233', '--scope', 'control', '--ttl', '10m'])
    try {
      const client = await modbusClient(connect.port)
      await client.modbus.writeSingleRegister(150, 4242)
      await client.modbus.writeMultipleRegisters(198, [1, 2])
      await client.modbus.writeSingleCoil(15, true)
      expect(await holdingRegisters(client, 150, 1)).toEqual([4242])
      expect(await holdingRegisters(client, 198, 2)).toEqual([1, 2])
      expect(await exceptionOf(client.modbus.writeSingleRegister(200, 9))).toBe(2)
      expect(await exceptionOf(client.modbus.writeMultipleRegisters(199, [1, 2]))).toBe(2)
      expect(await exceptionOf(client.modbus.writeSingleCoil(16, true))).toBe(2)
      expect(plc.holding.readUInt16BE(400)).toBe(1200)
      // Another unit is not in the grant.
      const other = await modbusClient(connect.port, 2)
      expect(await exceptionOf(other.modbus.writeSingleRegister(150, 1))).toBe(2)
      client.socket.end()
      other.socket.end()
      await Promise.all([client.closed, other.closed])
      const log = await commandsOf(connect.sessionId, 2)
      const entries = log.connections.flatMap((c) => c.entries)
      expect(entries).toEqual(expect.arrayContaining([
        expect.objectContaining({ function: 6, address: 150, values: [4242], outcome: 'sent', answer: 'ok' }),
        expect.objectContaining({ function: 16, address: 198, count: 2, values: [1, 2], outcome: 'sent', answer: 'ok' }),
        expect.objectContaining({ function: 5, address: 15, values: [1], outcome: 'sent', answer: 'ok' }),
        expect.objectContaining({ function: 6, address: 200, outcome: 'refused', answer: 'exception 2' }),
        expect.objectContaining({ function: 16, address: 199, count: 2, outcome: 'refused', answer: 'exception 2' }),
        expect.objectContaining({ function: 5, address: 16, outcome: 'refused', answer: 'exception 2' }),
        expect.objectContaining({ unit: 2, function: 6, address: 150, outcome: 'refused', answer: 'exception 2' }),
      ]))
      expect(entries).toHaveLength(7)
      // The human form names them too.
      const text = await jit(['sessions', 'commands', connect.sessionId], { home: alice })
      expect(text.stdout).toMatch(/sent\s+unit 1 function 6 address 150 values \[4242\] → ok/)
      expect(text.stdout).toMatch(/refused\s+unit 1 function 6 address 200 values \[9\] → exception 2/)
    } finally {
      await stop(connect)
    }
  })

  it('malformed frames close their own connection and nothing else', async () => {
    const connect = await startConnect(alice, [PLC, '--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m'])
    try {
      const survivor = await modbusClient(connect.port)
      expect(await holdingRegisters(survivor, 100, 1)).toEqual([1100])
      const header = (length: number) => Buffer.from([0, 1, 0, 0, length >> 8, length & 0xff, 1])
      const malformed: [string, Buffer][] = [
        ['a length field larger than any frame', Buffer.concat([header(0x4000), Buffer.from([3, 0, 0, 0, 1])])],
        ['a 300-byte PDU', Buffer.concat([header(301), Buffer.alloc(300, 3)])],
        ['a header with no body', header(6)],
        ['garbage', Buffer.from('GET / HTTP/1.1\r\nHost: plc\r\n\r\n')],
        ['a read whose PDU lies about its length', Buffer.concat([header(7), Buffer.from([3, 0, 100, 0, 1, 0])])],
      ]
      for (const [name, bytes] of malformed) {
        const raw = await modbusClient(connect.port)
        let answered = 0
        raw.socket.on('data', (d: Buffer) => (answered += d.length))
        raw.socket.write(bytes)
        const closed = await Promise.race([raw.closed.then(() => true), new Promise<boolean>((ok) => setTimeout(() => ok(false), 8000))])
        expect(closed, name).toBe(true)
        expect(answered, name).toBe(0)
        expect(await holdingRegisters(survivor, 101, 1), name).toEqual([1101])
      }
      survivor.socket.end()
      await survivor.closed
      const log = await commandsOf(connect.sessionId, malformed.length + 1)
      expect(log.connections.flatMap((c) => c.entries).filter((e) => e.outcome === 'malformed')).toHaveLength(malformed.length)
      const records = await broker.withStore((store) => store.auditLog.events({ sessionId: connect.sessionId }))
      expect(records.filter((e) => e.type === 'gateway.connection' && e.data.endCause === 'protocol-error')).toHaveLength(malformed.length)
    } finally {
      await stop(connect)
    }
  })

  it('the plant-state interlock: maintenance → running ends a control session and cuts its connection', async () => {
    const control = await startConnect(alice, [PLC, '--ticket', 'WO-104233', '--scope', 'control', '--ttl', '10m'])
    const diagnose = await startConnect(alice, [PLC, '--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m'])
    try {
      const client = await modbusClient(control.port)
      const reader = await modbusClient(diagnose.port)
      await client.modbus.writeSingleRegister(160, 1)
      const result = await jit(['admin', 'asset', 'set-state', PLC, 'running', '--reason', 'line restarted', ...broker.storeArgs])
      expect(result.code).toBe(0)
      // The change is committed once the command has returned.
      const started = performance.now()
      const closedAt = await Promise.race([client.closed.then(() => performance.now()), new Promise<number>((ok) => setTimeout(() => ok(Infinity), 10_000))])
      expect(closedAt - started).toBeLessThan(2000)
      const session = await waitFor('the end', async () => {
        const row = (await broker.withStore((store) => store.sessions.get(control.sessionId)))!
        return row.state === 'active' ? undefined : row
      })
      expect(session).toMatchObject({ state: 'revoked', endedBy: 'broker' })
      const end = (await broker.withStore((store) => store.auditLog.events({ sessionId: control.sessionId }))).find((e) => e.type === 'session.revoked')
      expect(end?.data).toMatchObject({ cause: 'plant-state', state: 'running' })
      // The diagnose rule holds in every state: that session and its connection go on.
      expect(await holdingRegisters(reader, 160, 1)).toEqual([1])
      expect((await broker.withStore((store) => store.sessions.get(diagnose.sessionId)))!.state).toBe('active')
      reader.socket.end()
    } finally {
      await jit(['admin', 'asset', 'set-state', PLC, 'maintenance', ...broker.storeArgs])
      await stop(control)
      await stop(diagnose)
    }
  })

  it('a gateway killed mid-connection: the restarted gateway still reports the writes it logged', async () => {
    const connect = await startConnect(alice, [PLC, '--ticket', 'WO-104233', '--scope', 'control', '--ttl', '10m'])
    try {
      const client = await modbusClient(connect.port)
      await client.modbus.writeSingleRegister(170, 17)
      expect(await exceptionOf(client.modbus.writeSingleRegister(250, 1))).toBe(2)
      // The log is noted on disk with the counts (every 2 s).
      await new Promise((ok) => setTimeout(ok, 3000))
      await gateway.stop('SIGKILL')
      await client.closed
      gateway = await startGateway(broker, { name: 'gw-line-3', token: gatewayToken, cert: selfSignedCert(), dataDir: gateway.dataDir })
      const log = await commandsOf(connect.sessionId, 1)
      expect(log.connections[0].entries).toEqual([
        expect.objectContaining({ function: 6, address: 170, values: [17], outcome: 'sent', answer: 'ok' }),
        expect.objectContaining({ function: 6, address: 250, outcome: 'refused', answer: 'exception 2' }),
      ])
    } finally {
      await stop(connect)
    }
  })

  it('only those who oversee the session read its commands', async () => {
    const connect = await startConnect(alice, [PLC, '--ticket', 'WO-104233', '--scope', 'diagnose', '--ttl', '10m'])
    const bob = await broker.enroll('bob', ['technician'])
    try {
      const result = await jit(['sessions', 'commands', connect.sessionId, '--json'], { home: bob })
      expect(result.code).not.toBe(0)
      expect(result.stdout + result.stderr).toMatch(/not allowed/)
    } finally {
      await stop(connect)
      cleanup(bob)
    }
  })
})
