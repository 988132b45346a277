// Modbus/TCP as the gateway reads it, with no I/O: MBAP framing over the chunks of a stream, the
// decoding of the request PDUs a plant session may send, the judgement of one request against what
// the session was granted, and the exception answer the protocol defines for a refusal. A frame
// whose header or body breaks the protocol (a protocol id other than 0, a length outside 2..254,
// a body that disagrees with its own counts) is malformed: the connection carrying it is closed,
// since nothing after it can be framed with confidence.
import type { ModbusGrant } from '../../wire/gateway.js'

export type { ModbusGrant }

/** MBAP header: transaction id (2), protocol id (2, always 0), length (2: unit + PDU), unit id (1). */
export const MBAP_HEADER_BYTES = 7
/** The largest PDU the protocol allows (an ADU of 260 bytes on TCP). */
export const MAX_PDU_BYTES = 253

export const EXCEPTION = { illegalFunction: 1, illegalDataAddress: 2, illegalDataValue: 3 } as const

/** One complete frame: the MBAP header's fields and the PDU. */
export interface ModbusFrame {
  transactionId: number
  unit: number
  pdu: Buffer
  /** The whole frame as received (header + PDU), forwarded unchanged when allowed. */
  bytes: Buffer
}

/** Splits a byte stream into MBAP frames; a malformed header stops it for good. */
export class MbapFramer {
  #buffer: Buffer = Buffer.alloc(0)
  #broken?: string

  /** The frames completed by this chunk, or why the stream is malformed. */
  push(chunk: Buffer): { frames: ModbusFrame[] } | { malformed: string } {
    if (this.#broken) return { malformed: this.#broken }
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    const frames: ModbusFrame[] = []
    while (this.#buffer.length >= 6) {
      const protocol = this.#buffer.readUInt16BE(2)
      const length = this.#buffer.readUInt16BE(4)
      if (protocol !== 0) return this.#break(`protocol id ${protocol} (Modbus is 0)`)
      if (length < 2 || length > MAX_PDU_BYTES + 1) return this.#break(`length field ${length} (the protocol allows 2 to ${MAX_PDU_BYTES + 1})`)
      const total = 6 + length
      if (this.#buffer.length < total) break
      const bytes = this.#buffer.subarray(0, total)
      frames.push({ transactionId: bytes.readUInt16BE(0), unit: bytes[6], pdu: bytes.subarray(MBAP_HEADER_BYTES), bytes })
      this.#buffer = this.#buffer.subarray(total)
    }
    return { frames }
  }

  /** Bytes of a frame begun but not complete. */
  get pending(): number {
    return this.#buffer.length
  }

  #break(reason: string): { malformed: string } {
    this.#broken = reason
    this.#buffer = Buffer.alloc(0)
    return { malformed: reason }
  }
}

export type FunctionClass = 'read' | 'write' | 'programming'

/** A request PDU decoded: what it touches. */
export interface ModbusRequest {
  function: number
  class: FunctionClass
  /** Coils (1, 5, 15: coils; 2: discrete inputs) or registers (3, 6, 16, 22, 23: holding; 4: input). */
  table?: 'coils' | 'inputs' | 'holding' | 'input-registers'
  address?: number
  count?: number
  /** Values written: coils as 0/1, registers as 16-bit words (22: the AND and OR masks). */
  values?: number[]
  /** 23: the registers read besides the ones written. */
  read?: { address: number; count: number }
  /** 43: the MEI type (14: read device identification). */
  mei?: number
}

/** Functions of the protocol that only read. */
const READS = new Set([1, 2, 3, 4])

/**
 * Decodes a request PDU. `malformed` when its length disagrees with its function's layout (a frame
 * that lies about its length); `illegalValue` for counts the protocol forbids (answered with
 * exception 03). Functions beyond reading and writing (diagnostics 8, report server id 17,
 * vendor codes such as 90, and any other) are "programming": passed whole, when allowed at all.
 */
export function decodeRequest(pdu: Buffer): { request: ModbusRequest } | { malformed: string } | { illegalValue: string; function: number } {
  const fn = pdu[0]
  if (fn === 0 || fn >= 0x80) return { malformed: `function code ${fn} is not a request` }
  const need = (n: number) => (pdu.length === n ? undefined : { malformed: `function ${fn} needs a PDU of ${n} bytes, got ${pdu.length}` })
  if (READS.has(fn)) {
    const wrong = need(5)
    if (wrong) return wrong
    const address = pdu.readUInt16BE(1)
    const count = pdu.readUInt16BE(3)
    const max = fn <= 2 ? 2000 : 125
    if (count < 1 || count > max) return { illegalValue: `quantity ${count} (1 to ${max})`, function: fn }
    const table = (['coils', 'inputs', 'holding', 'input-registers'] as const)[fn - 1]
    return { request: { function: fn, class: 'read', table, address, count } }
  }
  switch (fn) {
    case 5:
    case 6: {
      const wrong = need(5)
      if (wrong) return wrong
      const value = pdu.readUInt16BE(3)
      if (fn === 5 && value !== 0xff00 && value !== 0) return { illegalValue: `coil value 0x${value.toString(16)} (0xff00 or 0)`, function: fn }
      return { request: { function: fn, class: 'write', table: fn === 5 ? 'coils' : 'holding', address: pdu.readUInt16BE(1), count: 1, values: [fn === 5 ? (value ? 1 : 0) : value] } }
    }
    case 15:
    case 16: {
      if (pdu.length < 6) return { malformed: `function ${fn} needs at least 6 bytes, got ${pdu.length}` }
      const address = pdu.readUInt16BE(1)
      const count = pdu.readUInt16BE(3)
      const byteCount = pdu[5]
      const wrong = need(6 + byteCount)
      if (wrong) return wrong
      const max = fn === 15 ? 1968 : 123
      const expected = fn === 15 ? Math.ceil(count / 8) : count * 2
      if (count < 1 || count > max || byteCount !== expected) return { illegalValue: `quantity ${count} with ${byteCount} bytes`, function: fn }
      const data = pdu.subarray(6)
      const values = fn === 15 ? Array.from({ length: count }, (_, i) => (data[i >> 3] >> (i & 7)) & 1) : Array.from({ length: count }, (_, i) => data.readUInt16BE(i * 2))
      return { request: { function: fn, class: 'write', table: fn === 15 ? 'coils' : 'holding', address, count, values } }
    }
    case 22: {
      const wrong = need(7)
      if (wrong) return wrong
      return { request: { function: fn, class: 'write', table: 'holding', address: pdu.readUInt16BE(1), count: 1, values: [pdu.readUInt16BE(3), pdu.readUInt16BE(5)] } }
    }
    case 23: {
      if (pdu.length < 10) return { malformed: `function 23 needs at least 10 bytes, got ${pdu.length}` }
      const read = { address: pdu.readUInt16BE(1), count: pdu.readUInt16BE(3) }
      const address = pdu.readUInt16BE(5)
      const count = pdu.readUInt16BE(7)
      const byteCount = pdu[9]
      const wrong = need(10 + byteCount)
      if (wrong) return wrong
      if (read.count < 1 || read.count > 125 || count < 1 || count > 121 || byteCount !== count * 2) return { illegalValue: `quantities ${read.count}/${count} with ${byteCount} bytes`, function: fn }
      const values = Array.from({ length: count }, (_, i) => pdu.readUInt16BE(10 + i * 2))
      return { request: { function: fn, class: 'write', table: 'holding', address, count, values, read } }
    }
    case 43: {
      // 43/14 reads the device's identification; 43/13 (CANopen) and other MEI types are not reads.
      if (pdu.length >= 2 && pdu[1] === 14) {
        const wrong = need(4)
        if (wrong) return wrong
        return { request: { function: fn, class: 'read', mei: 14 } }
      }
      return { request: { function: fn, class: 'programming', ...(pdu.length >= 2 ? { mei: pdu[1] } : {}) } }
    }
    default:
      return { request: { function: fn, class: 'programming' } }
  }
}

/** A session that may only read. */
export const READ_ONLY: ModbusGrant = { writes: [], programming: false }

export type Verdict = { allow: true } | { allow: false; exception: number; reason: string }

/** Whether the session may send this request; a refusal names the protocol's exception. */
export function judge(request: ModbusRequest, unit: number, grant: ModbusGrant): Verdict {
  if (request.class === 'read') return { allow: true }
  if (request.class === 'programming') {
    return grant.programming ? { allow: true } : { allow: false, exception: EXCEPTION.illegalFunction, reason: `function ${request.function} needs a programming scope` }
  }
  if (grant.writes.length === 0) return { allow: false, exception: EXCEPTION.illegalFunction, reason: `this session's scope may not write (function ${request.function})` }
  const first = request.address!
  const last = first + request.count! - 1
  const kind = request.table === 'coils' ? 'coils' : 'registers'
  const inside = grant.writes.some((entry) => (entry.unit === undefined || entry.unit === unit) && (entry[kind] ?? []).some(([lo, hi]) => first >= lo && last <= hi))
  if (inside) return { allow: true }
  return { allow: false, exception: EXCEPTION.illegalDataAddress, reason: `${kind} ${first}${last > first ? `-${last}` : ''} of unit ${unit} are outside the ranges this session may write` }
}

/** The exception answer to a request: same transaction and unit, function | 0x80, the code. */
export function exceptionResponse(frame: Pick<ModbusFrame, 'transactionId' | 'unit'>, fn: number, code: number): Buffer {
  const out = Buffer.alloc(MBAP_HEADER_BYTES + 2)
  out.writeUInt16BE(frame.transactionId, 0)
  out.writeUInt16BE(0, 2)
  out.writeUInt16BE(3, 4)
  out[6] = frame.unit
  out[7] = (fn | 0x80) & 0xff
  out[8] = code
  return out
}
