// Users and the enrollment codes that bind a device to one: written once, over the store's
// portable SQL (store.ts), for both engines.
import { nowIso } from '../../../util/ids.js'
import { flag, type Row, type UserRecord } from '../records.js'
import type { Sql } from '../sql.js'

function toUser(row: Row): UserRecord {
  return { name: row.name as string, roles: JSON.parse(row.roles as string), org: (row.org as string) ?? undefined, disabled: flag(row.disabled) }
}

export class Users {
  constructor(private readonly store: Sql) {}

  async upsert(user: UserRecord): Promise<void> {
    await this.store.execute('INSERT INTO users (name, roles, org, disabled, created_at) VALUES (?,?,?,?,?) ON CONFLICT (name) DO UPDATE SET roles = excluded.roles, org = excluded.org, disabled = excluded.disabled', [
      user.name, JSON.stringify(user.roles), user.org ?? null, user.disabled ? 1 : 0, nowIso(),
    ])
  }

  async get(name: string): Promise<UserRecord | undefined> {
    const row = (await this.store.query('SELECT * FROM users WHERE name = ?', [name]))[0]
    return row && toUser(row)
  }

  async list(): Promise<UserRecord[]> {
    return (await this.store.query('SELECT * FROM users ORDER BY name')).map(toUser)
  }
}

export class EnrollmentCodes {
  constructor(private readonly store: Sql) {}

  async add(codeHash: string, user: string, expiresAtEpoch: number): Promise<void> {
    await this.store.execute('INSERT INTO enrollment_codes (code_hash, "user", expires_at) VALUES (?,?,?)', [codeHash, user, expiresAtEpoch])
  }

  /** Marks a code used and answers with its user; undefined if it is unknown, used or expired. */
  async consume(codeHash: string, nowEpoch: number): Promise<string | undefined> {
    const rows = await this.store.query('UPDATE enrollment_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > CAST(? AS NUMERIC) RETURNING "user"', [nowIso(), codeHash, nowEpoch])
    return rows[0]?.user as string | undefined
  }

  /** Marks every unused code of a user used, so none of them enrolls anything; how many there were. */
  async revokeUnused(user: string): Promise<number> {
    return this.store.execute('UPDATE enrollment_codes SET used_at = \'revoked:\' || ? WHERE "user" = ? AND used_at IS NULL', [nowIso(), user])
  }
}
