// Enrolled devices: their public keys, and whether they were revoked.
import { nowIso } from '../../../util/ids.js'
import type { DeviceRecord, Row } from '../records.js'
import type { Sql } from '../sql.js'

function toDevice(row: Row): DeviceRecord {
  return {
    id: row.id as string, user: row.user as string, name: row.name as string, publicJwk: JSON.parse(row.public_jwk as string), jkt: row.jkt as string,
    createdAt: row.created_at as string, revokedAt: (row.revoked_at as string) ?? undefined,
  }
}

export class Devices {
  /** Key thumbprints already read: fixed at enrollment, so they never go stale (revocation is never read from here). */
  readonly #jkts = new Map<string, string>()

  constructor(private readonly store: Sql) {}

  async add(device: DeviceRecord): Promise<void> {
    await this.store.execute('INSERT INTO devices (id, "user", name, public_jwk, jkt, created_at) VALUES (?,?,?,?,?,?)', [
      device.id, device.user, device.name, JSON.stringify(device.publicJwk), device.jkt, device.createdAt,
    ])
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const row = (await this.store.query('SELECT * FROM devices WHERE id = ?', [id]))[0]
    return row && toDevice(row)
  }

  /** A device's key thumbprint (every signed request names one). */
  async jkt(id: string): Promise<string> {
    let jkt = this.#jkts.get(id)
    if (jkt === undefined) {
      jkt = (await this.store.query('SELECT jkt FROM devices WHERE id = ?', [id]))[0]?.jkt as string | undefined
      if (jkt === undefined) throw new Error(`No device ${id}.`)
      if (this.#jkts.size >= 10_000) this.#jkts.clear()
      this.#jkts.set(id, jkt)
    }
    return jkt
  }

  /** False if it was revoked already. */
  async revoke(id: string): Promise<boolean> {
    return (await this.store.execute('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [nowIso(), id])) > 0
  }

  async list(user?: string): Promise<DeviceRecord[]> {
    const rows = user ? await this.store.query('SELECT * FROM devices WHERE "user" = ? ORDER BY created_at', [user]) : await this.store.query('SELECT * FROM devices ORDER BY "user", created_at')
    return rows.map(toDevice)
  }
}
