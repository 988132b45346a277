// The reads the identity inventory needs beyond the repositories, over the store's portable SQL:
// when each identity was created and last used, and what each person holds now.
import type { Holding } from '../../wire/reports.js'
import type { SqlReader } from '../store/store.js'

const isoOfEpoch = (epoch: unknown) => (epoch === null || epoch === undefined ? undefined : new Date(Number(epoch) * 1000).toISOString())

export async function userCreated(read: SqlReader): Promise<Map<string, string>> {
  return new Map((await read.query('SELECT name, created_at FROM users')).map((row) => [row.name as string, row.created_at as string]))
}

/** A person's or a device's last use: the newest request it made or session it was issued. */
export async function lastRequests(read: SqlReader): Promise<Map<string, string>> {
  return new Map((await read.query('SELECT "user", max(created_at) AS at FROM requests GROUP BY "user"')).map((row) => [row.user as string, row.at as string]))
}

export async function lastSessionsByDevice(read: SqlReader): Promise<Map<string, string>> {
  return new Map((await read.query('SELECT device_id, max(issued_at) AS at FROM sessions GROUP BY device_id')).map((row) => [row.device_id as string, isoOfEpoch(row.at)!]))
}

/** A verifier's (or gateway's) last use: its newest session check. */
export async function lastChecksByVerifier(read: SqlReader): Promise<Map<string, string>> {
  return new Map((await read.query('SELECT verifier, max(last_at) AS at FROM session_verifications GROUP BY verifier')).map((row) => [row.verifier as string, row.at as string]))
}

/** When each verifier's token was last made (added or rotated), from the audit log. */
export async function verifierTokenDates(read: SqlReader): Promise<Map<string, string>> {
  const rows = await read.query("SELECT at, data FROM audit WHERE type IN ('verifier.added', 'verifier.rotated') ORDER BY seq")
  const dates = new Map<string, string>()
  for (const row of rows) {
    const name = (JSON.parse(row.data as string) as { verifier?: unknown }).verifier
    if (typeof name === 'string') dates.set(name, row.at as string)
  }
  return dates
}

export async function gatewaysAnnounced(read: SqlReader): Promise<Map<string, { address: string; announcedAt: string }>> {
  return new Map((await read.query('SELECT name, address, announced_at FROM gateways')).map((row) => [row.name as string, { address: row.address as string, announcedAt: row.announced_at as string }]))
}

/** Active sessions not past their expiry, by user and by device. */
export async function activeHoldings(read: SqlReader, nowEpoch: number): Promise<{ user: string; device: string; holding: Holding }[]> {
  const rows = await read.query("SELECT id, \"user\", device_id, asset, scope, expires_at FROM sessions WHERE state = 'active' AND expires_at > CAST(? AS NUMERIC) ORDER BY issued_at", [nowEpoch])
  return rows.map((row) => ({ user: row.user as string, device: row.device_id as string, holding: { session: row.id as string, asset: row.asset as string, scope: row.scope as string, expiresAt: isoOfEpoch(row.expires_at)! } }))
}

/** The newest audit record of a type, for a key's last use (a checkpoint signed, a certificate issued). */
export async function lastOfType(read: SqlReader, type: string): Promise<string | undefined> {
  // Walked back from the newest record: a key in use is found within its latest records.
  return (await read.query('SELECT at FROM audit WHERE type = ? ORDER BY seq DESC LIMIT 1', [type]))[0]?.at as string | undefined
}

/** Active sessions renewed at least once: a chain of credentials that can run on past any one expiry. */
export async function renewedSessions(read: SqlReader): Promise<Set<string>> {
  const rows = await read.query("SELECT DISTINCT s.id FROM sessions s JOIN audit a ON a.session_id = s.id WHERE s.state = 'active' AND a.type = 'session.renewed'")
  return new Set(rows.map((row) => row.id as string))
}
