// The replay cache: ids of signed requests already accepted, kept until they expire. The primary
// key decides, so an id one broker took is a replay on every broker of the database.
import type { Sql } from '../sql.js'

export class SeenAssertions {
  constructor(private readonly store: Sql) {}

  /** Records an assertion id; false if it was seen before (a replay). */
  async remember(jti: string, expiresAtEpoch: number): Promise<boolean> {
    return (await this.store.execute('INSERT INTO seen_assertions (jti, expires_at) VALUES (?,?) ON CONFLICT (jti) DO NOTHING', [jti, expiresAtEpoch])) > 0
  }

  async forgetExpired(nowEpoch: number): Promise<void> {
    await this.store.execute('DELETE FROM seen_assertions WHERE expires_at < CAST(? AS NUMERIC)', [nowEpoch])
  }
}
