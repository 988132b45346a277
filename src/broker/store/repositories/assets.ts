// The asset inventory: each asset's path and the attributes policy matches on.
import type { AssetRecord, Row } from '../records.js'
import type { Sql } from '../sql.js'

const toAsset = (row: Row): AssetRecord => ({ path: row.path as string, attributes: JSON.parse(row.attributes as string) })

export class Assets {
  constructor(private readonly store: Sql) {}

  async upsert(asset: AssetRecord): Promise<void> {
    await this.store.execute('INSERT INTO assets (path, attributes) VALUES (?,?) ON CONFLICT (path) DO UPDATE SET attributes = excluded.attributes', [asset.path, JSON.stringify(asset.attributes)])
  }

  async get(path: string): Promise<AssetRecord | undefined> {
    const row = (await this.store.query('SELECT * FROM assets WHERE path = ?', [path]))[0]
    return row && toAsset(row)
  }

  async list(): Promise<AssetRecord[]> {
    return (await this.store.query('SELECT * FROM assets ORDER BY path')).map(toAsset)
  }
}
