// Operator tasks on the SSH CA, run on the broker host against its data folder: the files an SSH
// host needs (`jit admin ssh-ca export`) and a key rotation in two steps (`jit admin ssh-ca rotate`
// announces the next key, `--activate` makes it sign). None makes a CA where there was none: the
// broker creates its key on first start.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../../errors.js'
import { replaceFile } from '../../util/replace-file.js'
import type { Store } from '../store/store.js'
import { SshAuthority } from './authority.js'
import { CA_KEY_FILE, activateNextSshCaKey, prepareNextSshCaKey } from './ca-key.js'
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
  step: 'announced' | 'activated'
  /** The key that signs now. */
  current: string
  /** The key announced to sign next (after `announced`). */
  next?: string
  /** The key rotated out (after `activated`). */
  previous?: string
  /** Until when hosts must keep trusting the previous key (the last expiry of its certificates), if it signed any that live. */
  previousTrustedUntil?: string
}

/** Call before opening the store: a mistyped --data must not leave a new, empty broker behind. */
export function requireSshCa(dataDir: string): void {
  if (!existsSync(join(dataDir, CA_KEY_FILE))) {
    throw new UsageError(`${dataDir} holds no SSH CA key.`, ['Check --data; the broker creates its SSH CA key on its first start (jit broker start).'])
  }
}

function authorityOf(store: Store, dataDir: string): SshAuthority {
  requireSshCa(dataDir)
  return new SshAuthority(dataDir, store)
}

/** Writes TrustedUserCAKeys and RevokedKeys files for an SSH host into outDir, each replaced whole. */
export async function exportHostFiles(store: Store, dataDir: string, outDir: string, now: () => number = Date.now): Promise<HostFiles> {
  const ca = authorityOf(store, dataDir)
  const nowEpoch = Math.floor(now() / 1000)
  const trusted = await ca.trusted(nowEpoch)
  const krl = await new KrlPublisher(store, ca, now).current()
  await mkdir(outDir, { recursive: true })
  const trustedUserCaKeys = join(outDir, TRUSTED_CA_FILE)
  const revokedKeys = join(outDir, REVOKED_KEYS_FILE)
  // sshd reads RevokedKeys on every login: it must never see half a file.
  replaceFile(trustedUserCaKeys, `${trusted.map((key) => key.publicLine).join('\n')}\n`)
  replaceFile(revokedKeys, krl)
  return { trustedUserCaKeys, revokedKeys, caFingerprints: trusted.map((key) => key.fingerprint), revokedCertificates: (await ca.certificates.revokedUnexpired(nowEpoch)).length }
}

/** Step 1: a next key, published to hosts (ca.pub, export) from now on; it signs nothing yet. */
export async function announceNextCaKey(store: Store, dataDir: string, operator: string): Promise<Rotation> {
  const ca = authorityOf(store, dataDir)
  const already = ca.next()
  const next = already ?? prepareNextSshCaKey(dataDir)
  if (!already) await store.audit({ type: 'ssh.ca.next-announced', severity: 'high', actor: operator, data: { current: ca.current().fingerprint, next: next.fingerprint } })
  return { step: 'announced', current: ca.current().fingerprint, next: next.fingerprint }
}

/**
 * Step 2, once every host has fetched the announced key: it signs from now on, and the old key
 * stays published until its last certificate expires. Refused while the key rotated out before
 * still has live certificates: dropping it would lock out hosts' users.
 */
export async function activateNextCaKey(store: Store, dataDir: string, operator: string, now: () => number = Date.now): Promise<Rotation> {
  const ca = authorityOf(store, dataDir)
  const nowEpoch = Math.floor(now() / 1000)
  if (!ca.next()) throw new UsageError('No next SSH CA key has been announced.', ['Announce one first: jit admin ssh-ca rotate; activate it once every host has fetched the new TrustedUserCAKeys.'])
  const liveUntil = await ca.previousLiveUntil(nowEpoch)
  if (liveUntil !== undefined) {
    throw new UsageError(`The SSH CA key rotated out last time still has certificates valid until ${new Date(liveUntil * 1000).toISOString()}.`, ['Activate after that time, when no host needs it any more.'])
  }
  const old = ca.current()
  const lastOld = await ca.certificates.lastExpiryOf(old.fingerprint, nowEpoch)
  const { current } = activateNextSshCaKey(dataDir)
  await store.audit({ type: 'ssh.ca.rotated', severity: 'high', actor: operator, data: { current: current.fingerprint, previous: old.fingerprint } })
  return {
    step: 'activated',
    current: current.fingerprint,
    previous: old.fingerprint,
    ...(lastOld ? { previousTrustedUntil: new Date(lastOld * 1000).toISOString() } : {}),
  }
}
