// The SSH CA as the running broker sees it: the current key signs; a next key (announced for a
// rotation) is published ahead of signing anything; the previous key (after a rotation) stays
// published while certificates it signed live. `jit admin ssh-ca rotate` works on the data folder;
// the broker notices the changed key files on its next use, without a restart.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { CA_KEY_FILE, NEXT_CA_KEY_FILE, PREVIOUS_CA_KEY_FILE, loadNextSshCaKey, loadOrCreateSshCaKey, loadPreviousSshCaKey, type SshCaKey } from './ca-key.js'
import { CertificateStore } from './cert-store.js'
import type { Store } from '../store/store.js'

export class SshAuthority {
  readonly certificates: CertificateStore
  #keys?: { stamp: string; current: SshCaKey; next?: SshCaKey; previous?: SshCaKey }

  constructor(readonly dataDir: string, store: Store) {
    this.certificates = new CertificateStore(store)
    this.#load()
  }

  /** The key that signs new certificates. */
  current(): SshCaKey {
    return this.#load().current
  }

  /** Every CA key a host must trust now: the current one, the next one if announced, and the previous one while its certificates live. */
  async trusted(nowEpoch: number): Promise<SshCaKey[]> {
    const { current, next, previous } = this.#load()
    return [current, ...(next ? [next] : []), ...(previous && (await this.previousLiveUntil(nowEpoch)) !== undefined ? [previous] : [])]
  }

  /** The key announced for the next rotation, if any. */
  next(): SshCaKey | undefined {
    return this.#load().next
  }

  /** When the last live certificate of the previous key expires (epoch seconds); undefined when none lives. */
  async previousLiveUntil(nowEpoch: number): Promise<number | undefined> {
    const { previous } = this.#load()
    return previous && this.certificates.lastExpiryOf(previous.fingerprint, nowEpoch)
  }

  /** Any key this broker holds, by fingerprint (for listing certificates in the KRL under their CA). */
  byFingerprint(print: string): SshCaKey | undefined {
    const { current, previous } = this.#load()
    return [current, previous].find((key) => key?.fingerprint === print)
  }

  #load(): { current: SshCaKey; next?: SshCaKey; previous?: SshCaKey } {
    if (this.#keys?.stamp !== this.#stamp()) {
      const current = loadOrCreateSshCaKey(this.dataDir)
      this.#keys = { stamp: this.#stamp(), current, next: loadNextSshCaKey(this.dataDir), previous: loadPreviousSshCaKey(this.dataDir) }
    }
    return this.#keys
  }

  #stamp(): string {
    return [CA_KEY_FILE, NEXT_CA_KEY_FILE, PREVIOUS_CA_KEY_FILE].map((file) => fileStamp(join(this.dataDir, file))).join('|')
  }
}

function fileStamp(path: string): string {
  try {
    const s = statSync(path, { bigint: true })
    return `${s.ino}:${s.mtimeNs}`
  } catch {
    return 'absent'
  }
}
