// The OpenSSH key revocation list (KRL) a host reads through `RevokedKeys`: every certificate
// whose session has ended but which is still within its validity, listed by serial and by key id
// (the session id) under the CA that signed it. Made by OpenSSH's own `ssh-keygen -k`, in a
// private temporary folder removed afterwards. A revocation is audited the first time it lands in
// a KRL, once per certificate.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Store } from '../store/store.js'
import type { SshAuthority } from './authority.js'
import type { RevokedCertificate } from './cert-store.js'

const run = promisify(execFile)
const SSH_KEYGEN_TIMEOUT_MS = 10_000

export interface KrlSection {
  /** The CA's public key line. */
  caLine: string
  serials: number[]
  keyIds: string[]
}

/** Builds a KRL with ssh-keygen: one `-k` run per CA (the second and later with -u, update). */
export async function buildKrl(sections: KrlSection[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'jit-krl-'))
  try {
    const out = join(dir, 'krl')
    if (sections.length === 0) {
      await writeFile(join(dir, 'empty'), '')
      await sshKeygen(['-k', '-f', out, join(dir, 'empty')])
    }
    for (const [i, section] of sections.entries()) {
      const caFile = join(dir, `ca-${i}.pub`)
      const specFile = join(dir, `spec-${i}`)
      await writeFile(caFile, `${section.caLine}\n`)
      const lines = [...section.serials.map((serial) => `serial: ${serial}`), ...[...new Set(section.keyIds)].map((id) => `id: ${id}`)]
      await writeFile(specFile, `${lines.join('\n')}\n`)
      await sshKeygen(['-k', ...(i > 0 ? ['-u'] : []), '-f', out, '-s', caFile, specFile])
    }
    return await readFile(out)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function sshKeygen(args: string[]): Promise<void> {
  try {
    await run('ssh-keygen', args, { timeout: SSH_KEYGEN_TIMEOUT_MS })
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') throw new Error('ssh-keygen is not installed on the broker host (Debian: openssh-client); the KRL cannot be made.')
    throw new Error(`ssh-keygen -k failed: ${(e.stderr ?? e.message).trim()}`)
  }
}

/** The KRL of now, rebuilt only when the set of revoked certificates changes. */
export class KrlPublisher {
  #last?: { key: string; krl: Promise<Buffer> }

  constructor(
    readonly store: Store,
    readonly ca: SshAuthority,
    readonly now: () => number,
  ) {}

  async current(): Promise<Buffer> {
    const revoked = await this.ca.certificates.revokedUnexpired(Math.floor(this.now() / 1000))
    const sections = this.#sections(revoked)
    const key = JSON.stringify(sections)
    if (this.#last?.key !== key) {
      const krl = buildKrl(sections)
      this.#last = { key, krl }
      krl.catch(() => {
        if (this.#last?.krl === krl) this.#last = undefined
      })
    }
    const krl = await this.#last!.krl
    await this.#auditNewRevocations(revoked)
    return krl
  }

  #sections(revoked: RevokedCertificate[]): KrlSection[] {
    const byCa = new Map<string, KrlSection>()
    for (const cert of revoked) {
      const key = this.ca.byFingerprint(cert.caFingerprint)
      // A CA rotated out twice is trusted by no host that follows the broker; nothing to list under it.
      if (!key) continue
      let section = byCa.get(key.fingerprint)
      if (!section) byCa.set(key.fingerprint, (section = { caLine: key.publicLine, serials: [], keyIds: [] }))
      section.serials.push(cert.serial)
      section.keyIds.push(cert.keyId)
    }
    return [...byCa.values()]
  }

  async #auditNewRevocations(revoked: RevokedCertificate[]): Promise<void> {
    const fresh = revoked.filter((cert) => !cert.revocationAudited)
    if (fresh.length === 0) return
    await this.store.transaction(async (tx) => {
      for (const cert of fresh) {
        if (!(await this.ca.certificates.markRevocationAudited(cert.serial))) continue
        await tx.appendAudit({
          type: 'ssh.certificate.revoked',
          severity: 'info',
          actor: 'broker',
          sessionId: cert.sessionId,
          data: { serial: cert.serial, keyId: cert.keyId, principals: cert.principals, validBefore: new Date(cert.validBefore * 1000).toISOString(), caFingerprint: cert.caFingerprint },
        })
      }
    })
  }
}
