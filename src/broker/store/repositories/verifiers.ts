// Verifiers (gateways and other services that check sessions) and the hashes of their tokens.
import { nowIso } from '../../../util/ids.js'
import type { Sql } from '../sql.js'

export class Verifiers {
  constructor(private readonly store: Sql) {}

  async add(name: string, tokenHash: string): Promise<void> {
    await this.store.execute('INSERT INTO verifiers (name, token_hash, created_at) VALUES (?,?,?)', [name, tokenHash, nowIso()])
  }

  async list(): Promise<{ name: string; createdAt: string }[]> {
    return (await this.store.query('SELECT name, created_at FROM verifiers ORDER BY name')).map((row) => ({ name: row.name as string, createdAt: row.created_at as string }))
  }

  /** False if there is no such verifier. */
  async replaceToken(name: string, tokenHash: string): Promise<boolean> {
    return (await this.store.execute('UPDATE verifiers SET token_hash = ? WHERE name = ?', [tokenHash, name])) > 0
  }

  async remove(name: string): Promise<boolean> {
    return (await this.store.execute('DELETE FROM verifiers WHERE name = ?', [name])) > 0
  }

  async byTokenHash(tokenHash: string): Promise<string | undefined> {
    return (await this.store.query('SELECT name FROM verifiers WHERE token_hash = ?', [tokenHash]))[0]?.name as string | undefined
  }
}
