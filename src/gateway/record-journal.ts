// The records of this gateway's connections on disk, in its data folder, until the broker has
// them: one file per connection, written when the connection is admitted (before a byte is
// piped), again when its byte counts move and when it ends, and removed once the broker has the
// end. Beside them, the time the gateway last ran. A gateway killed mid-connection finds, at its
// next start, the connections whose end it never saw, and closes their records as
// "gateway-stopped". Files are 0600 in a 0700 folder and replaced whole (a temporary file, synced,
// then renamed over); they hold no secret: ids, addresses, times, counts, file hashes, and for a
// protocol-aware asset the decoded command log (function codes, addresses, values written). One gateway
// at a time uses a folder (a lock file with its process id).
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { CommandLog, ConnectionOpened, ConnectionRecord } from '../wire/gateway.js'

/** What the journal keeps of one connection. */
export interface KeptRecord {
  opened: ConnectionOpened
  /** The byte counts as last noted while the connection was open. */
  counts?: { bytesToAsset: number; bytesFromAsset: number }
  /** The command log as last noted while the connection was open (protocol-aware assets). */
  commands?: CommandLog
  closed?: ConnectionRecord
}

export class DataFolderInUse extends Error {
  constructor(readonly dir: string, readonly pid: number) {
    super(`another gateway (process ${pid}) uses the data folder ${dir}`)
  }
}

const RECORDS = 'connections'
const LOCK = 'gateway.lock'
const ALIVE = 'alive'
const ID = /^[A-Za-z0-9_-]{1,64}$/

export class RecordJournal {
  /** Writes and removals of one connection's file, in the order they were asked for. */
  readonly #chains = new Map<string, Promise<void>>()

  private constructor(readonly dir: string) {}

  /**
   * Takes the folder (refusing one another gateway runs on) and reads what a previous run left:
   * every record the broker may not have, the end of each closed (as "gateway-stopped" where that
   * run never saw it).
   */
  static async open(dir: string, log: (line: string) => void): Promise<{ journal: RecordJournal; owed: KeptRecord[] }> {
    await mkdir(join(dir, RECORDS), { recursive: true, mode: 0o700 })
    await takeLock(dir)
    const journal = new RecordJournal(dir)
    const lastRan = await readFile(join(dir, ALIVE), 'utf8').then((text) => text.trim(), () => undefined)
    const owed: KeptRecord[] = []
    for (const name of await readdir(join(dir, RECORDS))) {
      const path = join(dir, RECORDS, name)
      if (!name.endsWith('.json')) {
        await rm(path, { force: true }) // a temporary file of a write that never finished
        continue
      }
      const kept = await readFile(path, 'utf8').then(parseKept, () => undefined)
      if (!kept || `${kept.opened.connectionId}.json` !== name) {
        log(`error: connection records: ${name} in ${join(dir, RECORDS)} is not a record; removed`)
        await rm(path, { force: true })
        continue
      }
      if (!kept.closed) {
        kept.closed = {
          ...kept.opened,
          endedAt: lastRan && lastRan > kept.opened.startedAt && !Number.isNaN(Date.parse(lastRan)) ? new Date(lastRan).toISOString() : kept.opened.startedAt,
          bytesToAsset: kept.counts?.bytesToAsset ?? 0,
          bytesFromAsset: kept.counts?.bytesFromAsset ?? 0,
          ...(kept.commands ? { commands: kept.commands } : {}),
          endCause: 'gateway-stopped',
          recovered: true,
        }
        await journal.write(kept)
      }
      owed.push(kept)
    }
    owed.sort((a, b) => (a.opened.startedAt < b.opened.startedAt ? -1 : a.opened.startedAt > b.opened.startedAt ? 1 : 0))
    return { journal, owed }
  }

  write(kept: KeptRecord): Promise<void> {
    const id = kept.opened.connectionId
    const text = JSON.stringify(kept)
    return this.#then(id, () => writeWhole(join(this.dir, RECORDS, `${id}.json`), text))
  }

  remove(id: string): Promise<void> {
    return this.#then(id, () => rm(join(this.dir, RECORDS, `${id}.json`), { force: true }))
  }

  /**
   * Notes that the gateway runs now: a record closed at the next start ends no earlier. Not
   * synced (every 2 s): a stamp lost with the machine's power only makes such an end earlier.
   */
  stampAlive(): Promise<void> {
    const text = `${new Date().toISOString()}\n`
    return this.#then(ALIVE, () => writeWhole(join(this.dir, ALIVE), text, false))
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#chains.values()])
    await rm(join(this.dir, LOCK), { force: true })
  }

  #then(key: string, step: () => Promise<void>): Promise<void> {
    const next = (this.#chains.get(key) ?? Promise.resolve()).catch(() => {}).then(step)
    this.#chains.set(key, next)
    const forget = () => {
      if (this.#chains.get(key) === next) this.#chains.delete(key)
    }
    next.then(forget, forget)
    return next
  }
}

/** Replaces the file whole: a reader (or a gateway killed mid-write) sees the old content or the new, never a part. */
async function writeWhole(path: string, text: string, sync = true): Promise<void> {
  const temporary = `${path}.tmp`
  const handle = await open(temporary, 'w', 0o600)
  try {
    await handle.writeFile(text)
    if (sync) await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, path)
}

async function takeLock(dir: string): Promise<void> {
  const path = join(dir, LOCK)
  const holder = await readFile(path, 'utf8').then((text) => Number(text.trim()), () => undefined)
  // A lock left by a process that is gone (killed, or this very process id reused after a restart) is taken over.
  if (holder !== undefined && Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && processRuns(holder)) throw new DataFolderInUse(dir, holder)
  await writeWhole(path, `${process.pid}\n`)
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function parseKept(text: string): KeptRecord | undefined {
  try {
    const kept = JSON.parse(text) as KeptRecord
    const o = kept?.opened
    if (typeof o !== 'object' || o === null || typeof o.connectionId !== 'string' || !ID.test(o.connectionId)) return undefined
    if (typeof o.sessionId !== 'string' || typeof o.asset !== 'string' || typeof o.from !== 'string' || typeof o.startedAt !== 'string') return undefined
    return kept
  } catch {
    return undefined
  }
}
