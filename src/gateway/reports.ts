// The report queue: the record of each connection goes to the broker (a `gateway.connection`
// audit event of its session); a broker that is away gets the records when it is back.
import type { ConnectionRecord } from '../wire/gateway.js'
import type { BrokerLink } from './broker-link.js'

/** Sends connection records to the broker; a broker that is away gets them when it is back. */
export class ConnectionReports {
  readonly #queue: ConnectionRecord[] = []
  #sending?: Promise<void>
  constructor(readonly link: BrokerLink, readonly log: (line: string) => void) {}

  send(record: ConnectionRecord): void {
    this.#queue.push(record)
    this.#sending ??= this.#drain().finally(() => (this.#sending = undefined))
  }

  async #drain(): Promise<void> {
    let delay = 250
    while (this.#queue.length > 0) {
      try {
        await this.link.post('/gateway/connections', this.#queue[0])
        this.#queue.shift()
        delay = 250
      } catch (error) {
        if ((error as { status?: number }).status === 400) {
          this.log(`error: the broker refused the record of connection ${this.#queue[0].connectionId}: ${(error as Error).message}`)
          this.#queue.shift()
          continue
        }
        this.log(`connection records: ${(error as Error).message}; ${this.#queue.length} waiting`)
        await new Promise((resolve) => setTimeout(resolve, delay))
        delay = Math.min(delay * 2, 10_000)
      }
    }
  }

  async flush(timeoutMs: number): Promise<void> {
    if (!this.#sending) return
    await Promise.race([this.#sending, new Promise((resolve) => setTimeout(resolve, timeoutMs))])
    if (this.#queue.length > 0) this.log(`error: ${this.#queue.length} connection record(s) could not reach the broker before the gateway stopped`)
  }
}
