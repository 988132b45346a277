// Workloads (machines and jobs that are principals beside people) and their one-time join tokens.
import { nowIso } from '../../../util/ids.js'
import { flag, type Row } from '../records.js'
import type { Sql } from '../sql.js'

export interface WorkloadRecord {
  name: string
  /** Also the name of the workload's principal in users (sessions, devices and audit name it). */
  spiffeId: string
  /** The person (a user name) or group (`group:ROLE`) answerable for it. */
  owner: string
  /** How it proves itself: `join-token` this round. */
  attest: string
  disabled: boolean
  createdAt: string
  lastUsedAt?: string
}

function toWorkload(row: Row): WorkloadRecord {
  return {
    name: row.name as string, spiffeId: row.spiffe_id as string, owner: row.owner as string, attest: row.attest as string,
    disabled: flag(row.disabled), createdAt: row.created_at as string, lastUsedAt: (row.last_used_at as string) ?? undefined,
  }
}

export class Workloads {
  constructor(private readonly store: Sql) {}

  async add(workload: WorkloadRecord): Promise<void> {
    await this.store.execute('INSERT INTO workloads (name, spiffe_id, owner, attest, disabled, created_at) VALUES (?,?,?,?,?,?)', [
      workload.name, workload.spiffeId, workload.owner, workload.attest, workload.disabled ? 1 : 0, workload.createdAt,
    ])
  }

  async get(name: string): Promise<WorkloadRecord | undefined> {
    const row = (await this.store.query('SELECT * FROM workloads WHERE name = ?', [name]))[0]
    return row && toWorkload(row)
  }

  async bySpiffeId(spiffeId: string): Promise<WorkloadRecord | undefined> {
    const row = (await this.store.query('SELECT * FROM workloads WHERE spiffe_id = ?', [spiffeId]))[0]
    return row && toWorkload(row)
  }

  async list(): Promise<WorkloadRecord[]> {
    return (await this.store.query('SELECT * FROM workloads ORDER BY name')).map(toWorkload)
  }

  /** False when there is no such workload. */
  async setDisabled(name: string, disabled: boolean): Promise<boolean> {
    return (await this.store.execute('UPDATE workloads SET disabled = ? WHERE name = ?', [disabled ? 1 : 0, name])) > 0
  }

  async touch(name: string, at: string): Promise<void> {
    await this.store.execute('UPDATE workloads SET last_used_at = ? WHERE name = ?', [at, name])
  }

  async remove(name: string): Promise<void> {
    await this.store.execute('DELETE FROM workload_join_tokens WHERE workload = ?', [name])
    await this.store.execute('DELETE FROM workloads WHERE name = ?', [name])
  }

  async addJoinToken(tokenHash: string, workload: string, expiresAtEpoch: number): Promise<void> {
    await this.store.execute('INSERT INTO workload_join_tokens (token_hash, workload, expires_at) VALUES (?,?,?)', [tokenHash, workload, expiresAtEpoch])
  }

  /** Marks a token used and answers with its workload; undefined if it is unknown, used or expired. */
  async consumeJoinToken(tokenHash: string, nowEpoch: number): Promise<string | undefined> {
    const rows = await this.store.query('UPDATE workload_join_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > CAST(? AS NUMERIC) RETURNING workload', [nowIso(), tokenHash, nowEpoch])
    return rows[0]?.workload as string | undefined
  }
}
