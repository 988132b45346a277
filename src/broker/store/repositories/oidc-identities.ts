// Who a user is at their OpenID provider: the provider's subject, the refresh token the broker
// asks it again with, and when it last vouched for them (the freshness the gate checks).
import type { Row } from '../records.js'
import type { Sql } from '../sql.js'

export interface OidcIdentity {
  user: string
  /** The provider's name in the policy. */
  provider: string
  issuer: string
  subject: string
  /** Never logged, never returned by the API. */
  refreshToken?: string
  /** When the provider last answered for this user, seconds since the epoch. */
  checkedAt: number
  /** When the provider refused them (disabled, token revoked); they get nothing until they sign in again. */
  refusedAt?: string
}

function toIdentity(row: Row): OidcIdentity {
  return {
    user: row.user as string,
    provider: row.provider as string,
    issuer: row.issuer as string,
    subject: row.subject as string,
    refreshToken: (row.refresh_token as string | null) ?? undefined,
    checkedAt: Number(row.checked_at),
    refusedAt: (row.refused_at as string | null) ?? undefined,
  }
}

export class OidcIdentities {
  constructor(private readonly store: Sql) {}

  async get(user: string): Promise<OidcIdentity | undefined> {
    const row = (await this.store.query('SELECT * FROM oidc_identities WHERE "user" = ?', [user]))[0]
    return row && toIdentity(row)
  }

  async bySubject(issuer: string, subject: string): Promise<OidcIdentity | undefined> {
    const row = (await this.store.query('SELECT * FROM oidc_identities WHERE issuer = ? AND subject = ?', [issuer, subject]))[0]
    return row && toIdentity(row)
  }

  /** A sign-in: the identity as the provider just vouched for it. */
  async save(identity: OidcIdentity): Promise<void> {
    await this.store.execute(
      'INSERT INTO oidc_identities ("user", provider, issuer, subject, refresh_token, checked_at, refused_at) VALUES (?,?,?,?,?,?,NULL) ON CONFLICT ("user") DO UPDATE SET provider = excluded.provider, issuer = excluded.issuer, subject = excluded.subject, refresh_token = excluded.refresh_token, checked_at = excluded.checked_at, refused_at = NULL',
      [identity.user, identity.provider, identity.issuer, identity.subject, identity.refreshToken ?? null, identity.checkedAt],
    )
  }

  /** The provider answered again for user (a refresh); a rotated refresh token replaces the old one. */
  async vouched(user: string, checkedAt: number, refreshToken: string | undefined): Promise<void> {
    await this.store.execute('UPDATE oidc_identities SET checked_at = ?, refresh_token = COALESCE(?, refresh_token) WHERE "user" = ? AND refused_at IS NULL', [checkedAt, refreshToken ?? null, user])
  }

  /** The provider refused user: the refresh token is dropped. */
  async refused(user: string, at: string): Promise<void> {
    await this.store.execute('UPDATE oidc_identities SET refused_at = ?, refresh_token = NULL WHERE "user" = ?', [at, user])
  }

  /** Identities not refused whose last answer is at or before checkedBefore (seconds since the epoch). */
  async due(checkedBefore: number): Promise<OidcIdentity[]> {
    return (await this.store.query('SELECT * FROM oidc_identities WHERE refused_at IS NULL AND checked_at <= CAST(? AS NUMERIC) ORDER BY checked_at', [checkedBefore])).map(toIdentity)
  }
}
