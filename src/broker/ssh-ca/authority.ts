// The SSH CA as the running broker sees it: the current key signs, the previous key (after a
// rotation) stays published while certificates it signed live. `jit admin ssh-ca rotate` works on
// the data folder; the broker notices the changed key files on its next use, without a restart.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { CA_KEY_FILE, PREVIOUS_CA_KEY_FILE, loadOrCreateSshCaKey, loadPreviousSshCaKey, type SshCaKey } from './ca-key.js'
import { CertificateStore } from './cert-store.js'
import type { Store } from '../store/sqlite-store.js'

export class SshAuthority {
  readonly certificates: CertificateStore
  #keys?: { stamp: string; current: SshCaKey; previous?: SshCaKey }

  constructor(readonly dataDir: string, store: Store) {
    this.certificates = new CertificateStore(store)
    this.#load()
  }

  /** The key that signs new certificates. */
  current(): SshCaKey {
    return this.#load().current
  }

  /** Every CA key a host must trust now: the current one, and the previous one while its certificates live. */
  trusted(nowEpoch: number): SshCaKey[] {
    const { current, previous } = this.#load()
    return previous && this.certificates.lastExpiryOf(previous.fingerprint, nowEpoch) !== undefined ? [current, previous] : [current]
  }

  /** Any key this broker holds, by fingerprint (for listing certificates in the KRL under their CA). */
  byFingerprint(print: string): SshCaKey | undefined {
    const { current, previous } = this.#load()
    return [current, previous].find((key) => key?.fingerprint === print)
  }

  #load(): { current: SshCaKey; previous?: SshCaKey } {
    const stamp = [CA_KEY_FILE, PREVIOUS_CA_KEY_FILE].map((file) => fileStamp(join(this.dataDir, file))).join('|')
    if (this.#keys?.stamp !== stamp) {
      const current = loadOrCreateSshCaKey(this.dataDir)
      this.#keys = { stamp: [CA_KEY_FILE, PREVIOUS_CA_KEY_FILE].map((file) => fileStamp(join(this.dataDir, file))).join('|'), current, previous: loadPreviousSshCaKey(this.dataDir) }
    }
    return this.#keys
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
