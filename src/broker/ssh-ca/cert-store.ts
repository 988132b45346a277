// Every SSH certificate the broker signed: its serial (unique, never reused: SQLite AUTOINCREMENT),
// session, CA, principals and validity; and whether its revocation has been audited yet. No key
// material beyond the user key's fingerprint.
import { sqliteOf, type SqliteAsyncStore } from '../store/sqlite-async-store.js'
import type { Row } from '../store/sqlite-store.js'
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ssh_certificates (serial INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, key_id TEXT NOT NULL, ca_fingerprint TEXT NOT NULL, principals TEXT NOT NULL, valid_after INTEGER NOT NULL, valid_before INTEGER NOT NULL, key_fingerprint TEXT NOT NULL, issued_at TEXT NOT NULL, revocation_audited INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS ssh_certificates_valid ON ssh_certificates(valid_before);
CREATE INDEX IF NOT EXISTS ssh_certificates_session ON ssh_certificates(session_id);
`

const toIssued = (row: Row): RevokedCertificate => ({
  serial: row.serial as number,
  sessionId: row.session_id as string,
  keyId: row.key_id as string,
  caFingerprint: row.ca_fingerprint as string,
  principals: JSON.parse(row.principals as string) as string[],
  validAfter: row.valid_after as number,
  validBefore: row.valid_before as number,
  keyFingerprint: row.key_fingerprint as string,
  revocationAudited: row.revocation_audited === 1,
})

export class CertificateStore {
  readonly #sqlite: SqliteAsyncStore

  /** On the broker's store; SQLite only so far (sqliteOf). */
  constructor(store: Store) {
    this.#sqlite = sqliteOf(store)
    this.#sqlite.sqlite.db.exec(SCHEMA)
  }

  /** Records a certificate about to be signed and returns its serial. Call inside a transaction. */
  insert(cert: Omit<IssuedCertificate, 'serial'>, issuedAt: string): Promise<number> {
    return this.#sqlite.run((db) => {
      const result = db
        .statement('INSERT INTO ssh_certificates (session_id, key_id, ca_fingerprint, principals, valid_after, valid_before, key_fingerprint, issued_at) VALUES (?,?,?,?,?,?,?,?)')
        .run(cert.sessionId, cert.keyId, cert.caFingerprint, JSON.stringify(cert.principals), cert.validAfter, cert.validBefore, cert.keyFingerprint, issuedAt)
      return Number(result.lastInsertRowid)
    })
  }

  /** Certificates still within their validity whose session is no longer active: what the KRL must list. */
  revokedUnexpired(nowEpoch: number): Promise<RevokedCertificate[]> {
    return this.#sqlite.run((db) => {
      const rows = db
        .statement(`SELECT c.* FROM ssh_certificates c JOIN sessions s ON s.id = c.session_id WHERE c.valid_before > ? AND s.state != 'active' ORDER BY c.serial`)
        .all(nowEpoch) as Row[]
      return rows.map(toIssued)
    })
  }

  markRevocationAudited(serial: number): Promise<boolean> {
    return this.#sqlite.run((db) => db.statement('UPDATE ssh_certificates SET revocation_audited = 1 WHERE serial = ? AND revocation_audited = 0').run(serial).changes > 0)
  }

  /** When the last unexpired certificate signed by this CA expires (epoch seconds), or undefined if none is left. */
  lastExpiryOf(caFingerprint: string, nowEpoch: number): Promise<number | undefined> {
    return this.#sqlite.run((db) => {
      const row = db.statement('SELECT MAX(valid_before) AS last FROM ssh_certificates WHERE ca_fingerprint = ? AND valid_before > ?').get(caFingerprint, nowEpoch) as Row
      return (row.last as number | null) ?? undefined
    })
  }
}
