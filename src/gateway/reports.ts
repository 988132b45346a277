// The report queue: the record of each connection goes to the broker twice, when the gateway
// admits it ("opened") and when it ends (the `gateway.connection` audit event of its session,
// with its counts and why it ended). Every record is on disk (record-journal.ts) before it is
// queued and stays there until the broker has the end; a broker that is away gets the records when
// it is back, a gateway that was killed sends what it owed when it starts again. The broker
// records each once, so sending one again is harmless.
import type { CommandLog, ConnectionOpened, ConnectionRecord } from '../wire/gateway.js'
import type { BrokerLink } from './broker-link.js'
import { RecordJournal, type KeptRecord } from './record-journal.js'

/** How many connections' records the gateway holds at most; past it, it admits no new connection (none goes unrecorded). */
export const MAX_KEPT_RECORDS = 10_000
/** How often the byte counts of open connections, and the time the gateway last ran, are noted on disk. */
const CHECKPOINT_MS = 2000

/** A live connection's counters, as pipe.ts keeps them. */
export interface LiveCounts {
  toAsset: number
  fromAsset: number
  /** A protocol-aware connection's command log, as it grows. */
  commands?: CommandLog
}

interface Entry {
  kept: KeptRecord
  live?: LiveCounts
  /** How many commands the journal has of this connection. */
  commandsNoted?: number
}

export class ConnectionReports {
  readonly #entries = new Map<string, Entry>()
  readonly #queue: { id: string; kind: 'opened' | 'closed' }[] = []
  #sending?: Promise<void>
  #checkpointing = false
  #stopped = false
  readonly #checkpoints: NodeJS.Timeout

  private constructor(readonly link: BrokerLink, readonly journal: RecordJournal, readonly log: (line: string) => void) {
    this.#checkpoints = setInterval(() => void this.#checkpoint(), CHECKPOINT_MS)
    this.#checkpoints.unref()
  }

  /** Opens the data folder's journal and queues what a previous run of the gateway still owed the broker. */
  static async open(link: BrokerLink, dataDir: string, log: (line: string) => void): Promise<ConnectionReports> {
    const { journal, owed } = await RecordJournal.open(dataDir, log)
    const reports = new ConnectionReports(link, journal, log)
    await journal.stampAlive()
    if (owed.length > 0) {
      const unseen = owed.filter((kept) => kept.closed?.recovered).length
      log(`connection records: ${owed.length} from before this start to send${unseen > 0 ? ` (${unseen} whose end the gateway did not see: gateway-stopped)` : ''}`)
    }
    for (const kept of owed) {
      reports.#entries.set(kept.opened.connectionId, { kept })
      reports.#enqueue(kept.opened.connectionId, 'opened')
      reports.#enqueue(kept.opened.connectionId, 'closed')
    }
    return reports
  }

  /** Keeps the record of a connection just admitted; throws (and the connection must not open) when it cannot be kept. */
  async opened(opened: ConnectionOpened, live: LiveCounts): Promise<void> {
    if (this.#entries.size >= MAX_KEPT_RECORDS) throw new Error(`${this.#entries.size} connection records wait for the broker`)
    const entry: Entry = { kept: { opened }, live }
    this.#entries.set(opened.connectionId, entry)
    try {
      await this.journal.write(entry.kept)
    } catch (error) {
      this.#entries.delete(opened.connectionId)
      throw new Error(`its record cannot be written: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    this.#enqueue(opened.connectionId, 'opened')
  }

  /** Keeps the end of a connection and sends it. */
  async closed(record: ConnectionRecord): Promise<void> {
    const entry = this.#entries.get(record.connectionId)
    if (!entry) return
    entry.kept = { opened: entry.kept.opened, closed: record }
    await this.journal.write(entry.kept).catch((error: Error) => this.log(`error: connection records: the end of ${record.connectionId} could not be written to disk (${(error as NodeJS.ErrnoException).code ?? error.message}); it is sent all the same`))
    // Live until queued: a stop waits for it.
    entry.live = undefined
    this.#enqueue(record.connectionId, 'closed')
  }

  /**
   * Waits up to timeoutMs for the ends of the connections just closed to be kept and for the queue
   * to empty, then stops; what is left stays on disk for the next start.
   */
  async close(timeoutMs: number): Promise<void> {
    clearInterval(this.#checkpoints)
    const deadline = Date.now() + timeoutMs
    while ([...this.#entries.values()].some((entry) => entry.live) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    if (this.#sending) await Promise.race([this.#sending, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())])
    this.#stopped = true
    await this.#checkpoint()
    if (this.#entries.size > 0) this.log(`connection records: ${this.#entries.size} not yet taken by the broker are kept in ${this.journal.dir}; they are sent when the gateway starts again`)
    await this.journal.close()
  }

  #enqueue(id: string, kind: 'opened' | 'closed'): void {
    this.#queue.push({ id, kind })
    this.#sending ??= this.#drain().finally(() => (this.#sending = undefined))
  }

  async #drain(): Promise<void> {
    let delay = 250
    while (this.#queue.length > 0 && !this.#stopped) {
      const { id, kind } = this.#queue[0]
      const entry = this.#entries.get(id)
      try {
        if (entry && kind === 'opened') await this.link.post('/gateway/connections/opened', entry.kept.opened)
        if (entry?.kept.closed && kind === 'closed') {
          await this.link.post('/gateway/connections', entry.kept.closed)
          await this.#forget(id)
        }
        this.#queue.shift()
        delay = 250
      } catch (error) {
        const status = (error as { status?: number }).status
        // The broker will never take this record (an unknown session, an asset no longer behind
        // this gateway): keeping it would hold up every record after it.
        if (status === 400 || status === 404 || status === 413) {
          this.log(`error: the broker refused the ${kind} record of connection ${id}: ${(error as Error).message}`)
          this.#queue.shift()
          if (kind === 'closed') await this.#forget(id)
          continue
        }
        this.log(`connection records: ${(error as Error).message}; ${this.#entries.size} waiting`)
        await new Promise((resolve) => setTimeout(resolve, delay))
        delay = Math.min(delay * 2, 10_000)
      }
    }
  }

  async #forget(id: string): Promise<void> {
    this.#entries.delete(id)
    await this.journal.remove(id).catch((error: Error) => this.log(`error: connection records: ${id} could not be removed from disk (${error.message}); the broker records it once if it is sent again`))
  }

  /** Notes that the gateway runs, and the counts of open connections that moved. */
  async #checkpoint(): Promise<void> {
    if (this.#checkpointing) return
    this.#checkpointing = true
    try {
      const writes: Promise<void>[] = [this.journal.stampAlive()]
      for (const entry of this.#entries.values()) {
        const { live, kept } = entry
        if (!live || kept.closed) continue
        const commands = live.commands ? live.commands.writes + live.commands.refused + live.commands.entries.length : undefined
        if (kept.counts?.bytesToAsset === live.toAsset && kept.counts.bytesFromAsset === live.fromAsset && commands === entry.commandsNoted) continue
        kept.counts = { bytesToAsset: live.toAsset, bytesFromAsset: live.fromAsset }
        // A copy: the log goes on growing while the file is written.
        if (live.commands) kept.commands = { ...live.commands, entries: [...live.commands.entries] }
        entry.commandsNoted = commands
        writes.push(this.journal.write(kept))
      }
      const failed = (await Promise.allSettled(writes)).find((result) => result.status === 'rejected')
      if (failed) this.log(`error: connection records: cannot write to ${this.journal.dir} (${(failed.reason as Error).message})`)
    } finally {
      this.#checkpointing = false
    }
  }
}
