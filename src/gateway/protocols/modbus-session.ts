// One Modbus/TCP connection through the gateway: each request from the client is framed, decoded
// and judged against the session's grant before the asset sees it; a refusal is answered here
// with the protocol's exception, and every write and refusal goes into the connection's command
// log with the answer it got (the asset's answers are framed too, to pair them by transaction id).
import { MAX_LOGGED_COMMANDS, MAX_LOGGED_VALUES, type CommandLog, type ModbusCommand } from '../../wire/gateway.js'
import { EXCEPTION, MbapFramer, decodeRequest, exceptionResponse, judge, type ModbusGrant } from './modbus-tcp.js'

/** What to do with one chunk from the client. */
export interface ClientStep {
  /** Frames for the asset, in order. */
  forward: Buffer[]
  /** Exception answers for the client. */
  answer: Buffer[]
  /** Set when the stream is malformed: the connection must close. */
  malformed?: string
}

export class ModbusConnection {
  readonly #requests = new MbapFramer()
  readonly #answers = new MbapFramer()
  /** Writes sent and not yet answered, by transaction id. */
  readonly #awaiting = new Map<number, ModbusCommand>()
  readonly #log: CommandLog = { protocol: 'modbus-tcp', writes: 0, refused: 0, dropped: 0, entries: [] }
  #pendingSince?: number

  constructor(readonly grant: ModbusGrant, readonly now: () => number = Date.now) {}

  fromClient(chunk: Buffer): ClientStep {
    const step: ClientStep = { forward: [], answer: [] }
    const framed = this.#requests.push(chunk)
    if ('malformed' in framed) return this.#malformed(step, framed.malformed)
    for (const frame of framed.frames) {
      const decoded = decodeRequest(frame.pdu)
      if ('malformed' in decoded) return this.#malformed(step, decoded.malformed, frame.unit, frame.pdu[0])
      if ('illegalValue' in decoded) {
        step.answer.push(exceptionResponse(frame, decoded.function, EXCEPTION.illegalDataValue))
        this.#note({ at: this.#at(), unit: frame.unit, function: decoded.function, outcome: 'refused', answer: `exception ${EXCEPTION.illegalDataValue}`, reason: decoded.illegalValue })
        continue
      }
      const { request } = decoded
      const verdict = judge(request, frame.unit, this.grant)
      const entry: ModbusCommand = {
        at: this.#at(),
        unit: frame.unit,
        function: request.function,
        ...(request.address !== undefined ? { address: request.address } : {}),
        ...(request.count !== undefined ? { count: request.count } : {}),
        ...(request.values ? { values: request.values.slice(0, MAX_LOGGED_VALUES) } : {}),
        outcome: verdict.allow ? 'sent' : 'refused',
      }
      if (!verdict.allow) {
        step.answer.push(exceptionResponse(frame, request.function, verdict.exception))
        this.#note({ ...entry, answer: `exception ${verdict.exception}`, reason: verdict.reason })
        continue
      }
      // Reads are not logged one by one (the byte recording has them); writes and programming are.
      if (request.class !== 'read') {
        this.#note(entry)
        this.#awaiting.set(frame.transactionId, entry)
      }
      step.forward.push(frame.bytes)
    }
    this.#pendingSince = this.#requests.pending > 0 ? (this.#pendingSince ?? this.now()) : undefined
    return step
  }

  /** Pairs the asset's answers with the writes they answer; an unreadable answer stream only stops the pairing. */
  fromAsset(chunk: Buffer): void {
    const framed = this.#answers.push(chunk)
    if ('malformed' in framed) return
    for (const frame of framed.frames) {
      const entry = this.#awaiting.get(frame.transactionId)
      if (!entry) continue
      this.#awaiting.delete(frame.transactionId)
      const fn = frame.pdu[0]
      entry.answer = fn & 0x80 ? `exception ${frame.pdu[1] ?? '?'}` : 'ok'
    }
  }

  /** Since when (ms) a request has been begun and not completed; undefined when none is. */
  get incompleteSince(): number | undefined {
    return this.#pendingSince
  }

  /** Notes that the connection was closed with a request never completed. */
  incomplete(): void {
    this.#note({ at: this.#at(), unit: 0, function: 0, outcome: 'malformed', reason: `a request of which ${this.#requests.pending} byte(s) arrived never completed` })
  }

  get log(): CommandLog {
    return this.#log
  }

  #malformed(step: ClientStep, reason: string, unit = 0, fn = 0): ClientStep {
    this.#note({ at: this.#at(), unit, function: fn, outcome: 'malformed', reason })
    return { ...step, malformed: reason }
  }

  #note(entry: ModbusCommand): void {
    if (entry.outcome === 'refused') this.#log.refused++
    else if (entry.outcome === 'sent') this.#log.writes++
    if (this.#log.entries.length < MAX_LOGGED_COMMANDS) this.#log.entries.push(entry)
    else this.#log.dropped++
  }

  #at(): string {
    return new Date(this.now()).toISOString()
  }
}
