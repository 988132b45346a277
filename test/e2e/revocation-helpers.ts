// Shared by the revocation scenarios: what the broker's own records say about a session, waiting
// for a file or a condition, and the keychain entries of a device.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStore } from '../../src/broker/admin.js'
import { SERVICE } from '../../src/cli/keychain/keychain.js'
import type { AuditEvent } from '../../src/wire/api.js'
import type { TestBroker } from './harness.js'

export function deviceIdOf(home: string): string {
  return JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')).profiles.default.deviceId
}

export function sessionRow(broker: { dataDir: string }, id: string): { state: string; ended_by: string | null; end_reason: string | null; expires_at: number; heartbeat_at: number | null } {
  const store = openStore(broker.dataDir)
  try {
    return store.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as never
  } finally {
    store.close()
  }
}

export function latestSessionOf(broker: TestBroker, user: string): string {
  const store = openStore(broker.dataDir)
  try {
    return (store.db.prepare('SELECT id FROM sessions WHERE user = ? ORDER BY rowid DESC LIMIT 1').get(user) as { id: string }).id
  } finally {
    store.close()
  }
}

export function auditOf(broker: { dataDir: string }, sessionId: string): AuditEvent[] {
  const store = openStore(broker.dataDir)
  try {
    return [...store.auditEvents({ sessionId })]
  } finally {
    store.close()
  }
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
