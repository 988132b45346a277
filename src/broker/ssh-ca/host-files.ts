// Operator tasks on the SSH CA, run on the broker host against its data folder: the files an SSH
// host needs (`jit admin ssh-ca export`) and a key rotation (`jit admin ssh-ca rotate`). Neither
// makes a CA where there was none: the broker creates its key on first start.
import { existsSync, renameSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../../errors.js'
import type { Store } from '../store/sqlite-store.js'
import { SshAuthority } from './authority.js'
import { CA_KEY_FILE, rotateSshCaKey } from './ca-key.js'
import { KrlPublisher } from './krl.js'

export const TRUSTED_CA_FILE = 'trusted-user-ca-keys.pub'
export const REVOKED_KEYS_FILE = 'revoked-keys.krl'

export interface HostFiles {
  trustedUserCaKeys: string
  revokedKeys: string
  caFingerprints: string[]
  revokedCertificates: number
}

export interface Rotation {
  current: string
  previous: string
  /** Until when hosts must keep trusting the previous key (the last expiry of its certificates), if it signed any that live. */
  previousTrustedUntil?: string
}

/** Call before opening the store: a mistyped --data must not leave a new, empty broker behind. */
export function requireSshCa(dataDir: string): void {
  if (!existsSync(join(dataDir, CA_KEY_FILE))) {
    throw new UsageError(`${dataDir} holds no SSH CA key.`, ['Check --data; the broker creates its SSH CA key on its first start (jit broker start).'])
  }
}

function authorityOf(store: Store): SshAuthority {
  requireSshCa(store.dataDir)
  return new SshAuthority(store.dataDir, store)
}

/** Writes TrustedUserCAKeys and RevokedKeys files for an SSH host into outDir, each replaced whole. */
export async function exportHostFiles(store: Store, outDir: string, now: () => number = Date.now): Promise<HostFiles> {
  const ca = authorityOf(store)
  const nowEpoch = Math.floor(now() / 1000)
  const trusted = ca.trusted(nowEpoch)
  const krl = await new KrlPublisher(store, ca, now).current()
  await mkdir(outDir, { recursive: true })
  const trustedUserCaKeys = join(outDir, TRUSTED_CA_FILE)
  const revokedKeys = join(outDir, REVOKED_KEYS_FILE)
  // sshd reads RevokedKeys on every login: it must never see half a file.
  replaceFile(trustedUserCaKeys, `${trusted.map((key) => key.publicLine).join('\n')}\n`)
  replaceFile(revokedKeys, krl)
  return { trustedUserCaKeys, revokedKeys, caFingerprints: trusted.map((key) => key.fingerprint), revokedCertificates: ca.certificates.revokedUnexpired(nowEpoch).length }
}

/**
 * A new CA key signs from now on; the old one stays published until its last certificate has
 * expired. A second rotation inside that overlap would drop a key hosts still need: refused.
 */
export function rotateCa(store: Store, operator: string, now: () => number = Date.now): Rotation {
  const ca = authorityOf(store)
  const nowEpoch = Math.floor(now() / 1000)
  const [, previous] = ca.trusted(nowEpoch)
  if (previous) {
    const until = new Date(ca.certificates.lastExpiryOf(previous.fingerprint, nowEpoch)! * 1000).toISOString()
    throw new UsageError(`The previous SSH CA key (${previous.fingerprint}) still has certificates valid until ${until}.`, ['Rotate again after that time, when no host needs it any more.'])
  }
  const old = ca.current()
  const lastOld = ca.certificates.lastExpiryOf(old.fingerprint, nowEpoch)
  const rotated = rotateSshCaKey(store.dataDir)
  store.transaction(() => {
    store.appendAudit({ type: 'ssh.ca.rotated', severity: 'high', actor: operator, data: { current: rotated.current.fingerprint, previous: old.fingerprint } })
  })
  return {
    current: rotated.current.fingerprint,
    previous: old.fingerprint,
    ...(lastOld ? { previousTrustedUntil: new Date(lastOld * 1000).toISOString() } : {}),
  }
}

function replaceFile(path: string, content: string | Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, content, { mode: 0o644 })
  renameSync(temporary, path)
}
