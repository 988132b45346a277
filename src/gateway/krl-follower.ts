// Keeps a plain sshd's RevokedKeys file current: a verifier beside the SSH host that follows the
// broker's revocation stream (as a gateway does, with a verifier token) and, after every session
// end, fetches the broker's KRL and replaces the file whole. sshd reads the file at each login, so
// a revoked certificate stops logging in within a second instead of at the next cron run. The
// file is always the KRL the broker served, never one made here: the broker alone knows which
// certificates belong to which session.
import { statSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { UsageError } from '../errors.js'
import { replaceFile } from '../util/replace-file.js'
import type { RevocationBatch } from '../wire/gateway.js'
import { SSH_KRL_PATH } from '../wire/ssh.js'
import { BrokerLink } from './broker-link.js'
import { RevocationFollower } from './revocation-follower.js'

/** What every OpenSSH KRL starts with (PROTOCOL.krl: KRL_MAGIC). */
const KRL_MAGIC = Buffer.from('SSHKRL\n\0', 'latin1')
const FIRST_RETRY_MS = 250
const MAX_RETRY_MS = 5000
/** Long polls of 25 s: the follower has no stale limit of its own to keep under. */
const STREAM_STALE_MS = 75_000

export interface KrlFollowOptions {
  brokerUrl: string
  token: string
  /** PEM file of the CA that signed the broker's certificate. */
  caFile?: string
  /** The file sshd's RevokedKeys names. */
  out: string
  log?: (line: string) => void
}

export interface KrlFollowStarted {
  out: string
  broker: string
  /** The revocation stream's sequence number the first KRL covers. */
  since: number
  bytes: number
}

export interface RunningKrlFollower {
  started: KrlFollowStarted
  close(): Promise<void>
}

export class NotAKrlError extends Error {}

/**
 * First contact is made here, so that a wrong token, broker or folder fails at once: the stream's
 * head, then the KRL of that moment (an end after the head is reported by the stream). Later
 * failures are retried with backoff, and the file keeps the last KRL written meanwhile.
 */
export async function startKrlFollower(options: KrlFollowOptions): Promise<RunningKrlFollower> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`))
  requireFolder(options.out)
  const link = new BrokerLink(options.brokerUrl.replace(/\/+$/, ''), options.token, options.caFile)
  const { head } = await link.get<RevocationBatch>('/gateway/revocations')
  const bytes = await writeKrl(link, options.out)
  const writer = new KrlWriter(link, options.out, log)
  const follower = new RevocationFollower(link, {
    staleAfterMs: STREAM_STALE_MS,
    since: head,
    maxRetryMs: MAX_RETRY_MS,
    log,
    onEnd: (end) => writer.request(`session ${end.sessionId} ended (${end.cause})`),
  })
  follower.start()
  writer.start()
  return {
    started: { out: options.out, broker: link.brokerUrl, since: head, bytes },
    async close() {
      follower.stop()
      await writer.stop()
    },
  }
}

function requireFolder(out: string): void {
  let isFolder = false
  try {
    isFolder = statSync(dirname(out)).isDirectory()
  } catch {
    // reported below
  }
  if (!isFolder) throw new UsageError(`${dirname(out)} is not a folder.`, ['--out names the file sshd_config\'s RevokedKeys names, in a folder that exists.'])
}

/** Fetches the broker's KRL and replaces the file with it; returns its size. */
async function writeKrl(link: BrokerLink, out: string, signal?: AbortSignal): Promise<number> {
  const krl = await link.getBytes(SSH_KRL_PATH, 10_000, signal)
  // Whatever answered is not the broker's KRL (a proxy's page, say): keep the last good file.
  if (!krl.subarray(0, KRL_MAGIC.length).equals(KRL_MAGIC)) throw new NotAKrlError(`${link.brokerUrl}${SSH_KRL_PATH} did not answer with an OpenSSH KRL`)
  replaceFile(out, krl)
  return krl.length
}

/** Rewrites the file once per burst of session ends, and again after a failure, with backoff. */
class KrlWriter {
  /** Session ends not yet covered by a KRL written, and the last one's description. */
  #pending = 0
  #last = ''
  #wake?: () => void
  #loop?: Promise<void>
  readonly #stop = new AbortController()

  constructor(readonly link: BrokerLink, readonly out: string, readonly log: (line: string) => void) {}

  request(why: string): void {
    this.#pending++
    this.#last = why
    this.#wake?.()
  }

  start(): void {
    this.#loop = this.#run()
  }

  async stop(): Promise<void> {
    this.#stop.abort()
    this.#wake?.()
    await this.#loop
  }

  async #run(): Promise<void> {
    let retryMs = FIRST_RETRY_MS
    while (!this.#stop.signal.aborted) {
      if (this.#pending === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve))
        this.#wake = undefined
        continue
      }
      const covering = this.#pending
      const why = covering === 1 ? this.#last : `${covering} sessions ended`
      try {
        const bytes = await writeKrl(this.link, this.out, this.#stop.signal)
        this.#pending -= covering
        this.log(`${this.out} rewritten (${bytes} bytes): ${why}`)
        retryMs = FIRST_RETRY_MS
      } catch (error) {
        if (this.#stop.signal.aborted) return
        this.log(`KRL not rewritten: ${(error as Error).message}; trying again in ${retryMs / 1000}s`)
        await sleep(retryMs, undefined, { signal: this.#stop.signal }).catch(() => {})
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
      }
    }
  }
}
