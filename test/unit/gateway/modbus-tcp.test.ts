// The Modbus/TCP reader of the gateway, on hand-built frames: framing over arbitrary chunks, what
// each function code decodes to, malformed frames, the judgement against a grant and the
// exception answers, and the command log of one connection.
import { describe, expect, it } from 'vitest'
import { ModbusConnection } from '../../../src/gateway/protocols/modbus-session.js'
import { MbapFramer, READ_ONLY, decodeRequest, exceptionResponse, judge, type ModbusGrant } from '../../../src/gateway/protocols/modbus-tcp.js'

/** An MBAP frame around a PDU (length = unit + PDU unless told otherwise). */
function frame(pdu: number[], { tid = 1, unit = 1, length, protocol = 0 }: { tid?: number; unit?: number; length?: number; protocol?: number } = {}): Buffer {
  const head = Buffer.alloc(7)
  head.writeUInt16BE(tid, 0)
  head.writeUInt16BE(protocol, 2)
  head.writeUInt16BE(length ?? pdu.length + 1, 4)
  head[6] = unit
  return Buffer.concat([head, Buffer.from(pdu)])
}
const u16 = (n: number) => [n >> 8, n & 0xff]

const CONTROL: ModbusGrant = { writes: [{ unit: 1, coils: [[0, 15]], registers: [[100, 199]] }], programming: false }

describe('MBAP framing', () => {
  it('reassembles frames split anywhere and splits frames sent together', () => {
    const a = frame([3, ...u16(100), ...u16(2)], { tid: 7 })
    const b = frame([6, ...u16(120), ...u16(42)], { tid: 8 })
    const stream = Buffer.concat([a, b])
    for (let cut = 1; cut < stream.length; cut++) {
      const framer = new MbapFramer()
      const first = framer.push(stream.subarray(0, cut))
      const second = framer.push(stream.subarray(cut))
      if (!('frames' in first) || !('frames' in second)) throw new Error('malformed')
      const frames = [...first.frames, ...second.frames]
      expect(frames.map((f) => f.transactionId)).toEqual([7, 8])
      expect(Buffer.concat(frames.map((f) => f.bytes))).toEqual(stream)
      expect(framer.pending).toBe(0)
    }
  })

  it('a header with no body is pending, not a frame', () => {
    const framer = new MbapFramer()
    expect(framer.push(frame([3, ...u16(0), ...u16(1)]).subarray(0, 7))).toEqual({ frames: [] })
    expect(framer.pending).toBe(7)
  })

  it.each([
    ['a length field past the protocol (300-byte PDU)', frame(Array(300).fill(3)), /length field 301/],
    ['a length field too large for any frame', frame([3, 0, 0, 0, 1], { length: 0xffff }), /length field 65535/],
    ['a length field of 1 (no PDU)', frame([], { length: 1 }), /length field 1/],
    ['a protocol id other than 0', frame([3, 0, 0, 0, 1], { protocol: 0x4745 }), /protocol id/],
    ['garbage', Buffer.from('GET / HTTP/1.1\r\nHost: plc\r\n\r\n'), /protocol id|length field/],
  ])('%s is malformed, and stays so', (_name, bytes, reason) => {
    const framer = new MbapFramer()
    const result = framer.push(bytes)
    expect(result).toEqual({ malformed: expect.stringMatching(reason) })
    expect(framer.push(frame([3, 0, 0, 0, 1]))).toEqual(result)
  })
})

describe('request decoding', () => {
  it('reads name their table, address and count', () => {
    expect(decodeRequest(Buffer.from([3, ...u16(100), ...u16(10)]))).toEqual({ request: { function: 3, class: 'read', table: 'holding', address: 100, count: 10 } })
    expect(decodeRequest(Buffer.from([1, ...u16(0), ...u16(2000)]))).toMatchObject({ request: { class: 'read', table: 'coils', count: 2000 } })
    expect(decodeRequest(Buffer.from([43, 14, 1, 0]))).toEqual({ request: { function: 43, class: 'read', mei: 14 } })
  })

  it('writes carry their values', () => {
    expect(decodeRequest(Buffer.from([5, ...u16(3), 0xff, 0]))).toMatchObject({ request: { class: 'write', table: 'coils', address: 3, count: 1, values: [1] } })
    expect(decodeRequest(Buffer.from([15, ...u16(0), ...u16(10), 2, 0b00000101, 0b10]))).toMatchObject({ request: { table: 'coils', count: 10, values: [1, 0, 1, 0, 0, 0, 0, 0, 0, 1] } })
    expect(decodeRequest(Buffer.from([16, ...u16(100), ...u16(2), 4, ...u16(7), ...u16(65535)]))).toMatchObject({ request: { table: 'holding', address: 100, count: 2, values: [7, 65535] } })
    expect(decodeRequest(Buffer.from([23, ...u16(0), ...u16(5), ...u16(150), ...u16(1), 2, ...u16(9)]))).toMatchObject({ request: { class: 'write', address: 150, count: 1, values: [9], read: { address: 0, count: 5 } } })
    expect(decodeRequest(Buffer.from([22, ...u16(101), ...u16(0xff00), ...u16(0x0012)]))).toMatchObject({ request: { class: 'write', address: 101, values: [0xff00, 0x12] } })
  })

  it('diagnostics, server id, vendor codes and other MEI types are programming', () => {
    for (const pdu of [[8, 0, 1, 0, 0], [17], [90, 1, 2, 3], [43, 13, 0]]) expect(decodeRequest(Buffer.from(pdu))).toMatchObject({ request: { class: 'programming' } })
  })

  it('a PDU that disagrees with its own counts is malformed', () => {
    expect(decodeRequest(Buffer.from([3, 0, 0, 0]))).toEqual({ malformed: expect.stringMatching(/5 bytes/) })
    expect(decodeRequest(Buffer.from([16, ...u16(100), ...u16(2), 4, ...u16(7)]))).toEqual({ malformed: expect.any(String) })
    expect(decodeRequest(Buffer.from([0x83, 0, 0, 0, 1]))).toEqual({ malformed: expect.any(String) })
  })

  it('counts the protocol forbids are an illegal data value', () => {
    expect(decodeRequest(Buffer.from([3, ...u16(0), ...u16(126)]))).toMatchObject({ illegalValue: expect.any(String), function: 3 })
    expect(decodeRequest(Buffer.from([5, ...u16(0), 0x12, 0x34]))).toMatchObject({ illegalValue: expect.any(String) })
    expect(decodeRequest(Buffer.from([16, ...u16(100), ...u16(2), 2, ...u16(7)]))).toMatchObject({ illegalValue: expect.any(String) })
  })
})

describe('judging a request against the grant', () => {
  const decoded = (pdu: number[]) => {
    const result = decodeRequest(Buffer.from(pdu))
    if (!('request' in result)) throw new Error('not a request')
    return result.request
  }
  it('a read-only session reads and may not write or program (01)', () => {
    expect(judge(decoded([3, ...u16(100), ...u16(2)]), 1, READ_ONLY)).toEqual({ allow: true })
    expect(judge(decoded([6, ...u16(100), ...u16(1)]), 1, READ_ONLY)).toMatchObject({ allow: false, exception: 1 })
    expect(judge(decoded([8, 0, 1, 0, 0]), 1, READ_ONLY)).toMatchObject({ allow: false, exception: 1 })
  })
  it('control writes inside its ranges only (02 outside, on another unit, or past the end)', () => {
    expect(judge(decoded([6, ...u16(199), ...u16(1)]), 1, CONTROL)).toEqual({ allow: true })
    expect(judge(decoded([5, ...u16(15), 0xff, 0]), 1, CONTROL)).toEqual({ allow: true })
    expect(judge(decoded([6, ...u16(200), ...u16(1)]), 1, CONTROL)).toMatchObject({ allow: false, exception: 2 })
    expect(judge(decoded([16, ...u16(199), ...u16(2), 4, 0, 1, 0, 2]), 1, CONTROL)).toMatchObject({ allow: false, exception: 2 })
    expect(judge(decoded([6, ...u16(100), ...u16(1)]), 2, CONTROL)).toMatchObject({ allow: false, exception: 2 })
    // Coil ranges do not open registers of the same numbers.
    expect(judge(decoded([6, ...u16(5), ...u16(1)]), 1, CONTROL)).toMatchObject({ allow: false, exception: 2 })
    expect(judge(decoded([90, 1]), 1, CONTROL)).toMatchObject({ allow: false, exception: 1 })
  })
  it('a programming scope sends diagnostics and vendor codes', () => {
    expect(judge(decoded([90, 1]), 1, { writes: [], programming: true })).toEqual({ allow: true })
  })
  it('the exception answer echoes transaction and unit', () => {
    expect(exceptionResponse({ transactionId: 0x1234, unit: 9 }, 6, 2)).toEqual(Buffer.from([0x12, 0x34, 0, 0, 0, 3, 9, 0x86, 2]))
  })
})

describe('one connection', () => {
  it('forwards allowed frames, answers refusals, and logs writes with the asset\'s answer', () => {
    let now = Date.parse('2026-01-01T00:00:00Z')
    const connection = new ModbusConnection(CONTROL, () => now)
    const read = frame([3, ...u16(100), ...u16(2)], { tid: 1 })
    const write = frame([6, ...u16(150), ...u16(42)], { tid: 2 })
    const outside = frame([6, ...u16(300), ...u16(1)], { tid: 3 })
    const step = connection.fromClient(Buffer.concat([read, write, outside]))
    expect(step.forward).toEqual([read, write])
    expect(step.answer).toEqual([Buffer.from([0, 3, 0, 0, 0, 3, 1, 0x86, 2])])
    connection.fromAsset(frame([6, ...u16(150), ...u16(42)], { tid: 2 }))
    now += 1000
    expect(connection.log).toMatchObject({ writes: 1, refused: 1, dropped: 0 })
    expect(connection.log.entries).toEqual([
      { at: '2026-01-01T00:00:00.000Z', unit: 1, function: 6, address: 150, count: 1, values: [42], outcome: 'sent', answer: 'ok' },
      { at: '2026-01-01T00:00:00.000Z', unit: 1, function: 6, address: 300, count: 1, values: [1], outcome: 'refused', answer: 'exception 2', reason: expect.stringMatching(/outside/) },
    ])
  })

  it('an exception from the asset is the write\'s answer', () => {
    const connection = new ModbusConnection(CONTROL)
    connection.fromClient(frame([6, ...u16(150), ...u16(42)], { tid: 9 }))
    connection.fromAsset(frame([0x86, 4], { tid: 9 }))
    expect(connection.log.entries[0].answer).toBe('exception 4')
  })

  it('notes since when a request is incomplete, and a malformed stream', () => {
    let now = 1000
    const connection = new ModbusConnection(READ_ONLY, () => now)
    connection.fromClient(frame([3, ...u16(0), ...u16(1)]).subarray(0, 9))
    expect(connection.incompleteSince).toBe(1000)
    now = 2000
    connection.fromClient(frame([3, ...u16(0), ...u16(1)]).subarray(9))
    expect(connection.incompleteSince).toBeUndefined()
    expect(connection.fromClient(Buffer.from('garbage!')).malformed).toBeDefined()
    expect(connection.log.entries.at(-1)).toMatchObject({ outcome: 'malformed' })
  })
})
