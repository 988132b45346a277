// Shared by the revocation scenarios: what the broker's own records say about a session, waiting
// for a file or a condition, and the keychain entries of a device.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SERVICE } from '../../src/cli/keychain/keychain.js'
import type { AuditEvent } from '../../src/wire/api.js'
import type { TestBroker } from './harness.js'

export function deviceIdOf(home: string): string {
  return JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).profiles.default.deviceId
}

export async function sessionRow(broker: Pick<TestBroker, 'withStore'>, id: string): Promise<{ state: string; ended_by: string | null; end_reason: string | null; expires_at: number; heartbeat_at: number | null }> {
  return (await broker.withStore((store) => store.query('SELECT * FROM sessions WHERE id = ?', [id])))[0] as never
}

/** The user's session made last: the one whose first audit record is newest (the stores share no row order). */
export async function latestSessionOf(broker: Pick<TestBroker, 'withStore'>, user: string): Promise<string> {
  const rows = await broker.withStore((store) =>
    store.query('SELECT s.id AS id FROM sessions s JOIN audit a ON a.session_id = s.id WHERE s."user" = ? GROUP BY s.id ORDER BY min(a.seq) DESC', [user]),
  )
  return rows[0].id as string
}

export function auditOf(broker: Pick<TestBroker, 'withStore'>, sessionId: string): Promise<AuditEvent[]> {
  return broker.withStore((store) => store.auditLog.events({ sessionId }))
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export const waitForFile = (path: string, timeoutMs?: number) => waitFor(`file ${path}`, () => existsSync(path) && readFileSync(path, 'utf8').length > 0 && readFileSync(path, 'utf8'), timeoutMs)

export { keychainHas } from './harness.js'
