// Every SSH certificate the broker signed: its serial (unique, never reused: an AUTOINCREMENT /
// identity column), session, CA, principals and validity; and whether its revocation has been
// audited yet. No key material beyond the user key's fingerprint.
import { flag, int, type Row } from '../store/records.js'
import type { Store } from '../store/store.js'

export interface IssuedCertificate {
  serial: number
  sessionId: string
  keyId: string
  caFingerprint: string
  principals: string[]
  validAfter: number
  validBefore: number
  keyFingerprint: string
}

/** A certificate whose session has ended while the certificate itself is still within its validity. */
export interface RevokedCertificate extends IssuedCertificate {
  revocationAudited: boolean
}

const toIssued = (row: Row): RevokedCertificate => ({
  serial: int(row.serial),
  sessionId: row.session_id as string,
  keyId: row.key_id as string,
  caFingerprint: row.ca_fingerprint as string,
  principals: JSON.parse(row.principals as string) as string[],
  validAfter: int(row.valid_after),
  validBefore: int(row.valid_before),
  keyFingerprint: row.key_fingerprint as string,
  revocationAudited: flag(row.revocation_audited),
})

export class CertificateStore {
  /** On the broker's store: a call inside a transaction is part of it. */
  constructor(readonly store: Store) {}

  /** Records a certificate about to be signed and returns its serial. Call inside a transaction. */
  async insert(cert: Omit<IssuedCertificate, 'serial'>, issuedAt: string): Promise<number> {
    const rows = await this.store.query(
      'INSERT INTO ssh_certificates (session_id, key_id, ca_fingerprint, principals, valid_after, valid_before, key_fingerprint, issued_at) VALUES (?,?,?,?,?,?,?,?) RETURNING serial',
      [cert.sessionId, cert.keyId, cert.caFingerprint, JSON.stringify(cert.principals), cert.validAfter, cert.validBefore, cert.keyFingerprint, issuedAt],
    )
    return int(rows[0]!.serial)
  }

  /** Certificates still within their validity whose session is no longer active: what the KRL must list. */
  async revokedUnexpired(nowEpoch: number): Promise<RevokedCertificate[]> {
    const rows = await this.store.query(`SELECT c.* FROM ssh_certificates c JOIN sessions s ON s.id = c.session_id WHERE c.valid_before > CAST(? AS NUMERIC) AND s.state != 'active' ORDER BY c.serial`, [nowEpoch])
    return rows.map(toIssued)
  }

  async markRevocationAudited(serial: number): Promise<boolean> {
    return (await this.store.execute('UPDATE ssh_certificates SET revocation_audited = 1 WHERE serial = ? AND revocation_audited = 0', [serial])) > 0
  }

  /** When the last unexpired certificate signed by this CA expires (epoch seconds), or undefined if none is left. */
  async lastExpiryOf(caFingerprint: string, nowEpoch: number): Promise<number | undefined> {
    const rows = await this.store.query('SELECT MAX(valid_before) AS last FROM ssh_certificates WHERE ca_fingerprint = ? AND valid_before > CAST(? AS NUMERIC)', [caFingerprint, nowEpoch])
    const last = rows[0]?.last
    return last === null || last === undefined ? undefined : int(last)
  }
}
