// The provider stays the source of truth. Each signed-in user's identity records when the provider
// last vouched for them; the gate refuses to open or renew a session once that answer is older
// than the provider's max_age. The broker asks again (the refresh token) once half of it has
// passed, in the sweeper, on the one broker that holds that duty: two brokers refreshing one user
// at once could spend a rotated refresh token twice, and the provider would refuse the second. A
// provider that refuses (user disabled, grant revoked) ends their sessions and cancels their
// pending requests at once, like offboarding.
import { nowIso } from '../../util/ids.js'
import type { IdentityProvider } from '../../policy/types.js'
import type { BrokerContext } from '../context.js'
import { endAccessOf } from '../offboarding.js'
import type { OidcIdentity } from '../store/repositories/oidc-identities.js'
import { ProviderRefused, refresh } from './relying-party.js'
import { applyRoles, identify } from './sign-in.js'

/** Why this identity does not count as vouched for at `at` (ms), or undefined when it does. */
export function identityProblem(ctx: BrokerContext, identity: OidcIdentity | undefined, at: number): string | undefined {
  if (!identity) return undefined
  if (identity.refusedAt) return `${identity.provider} refused ${identity.user} at ${identity.refusedAt}; sign in again (jit login --oidc)`
  const provider = providerOf(ctx, identity)
  if (!provider) return `${identity.user} signed in with ${identity.provider}, which the policy no longer trusts`
  const age = at / 1000 - identity.checkedAt
  if (age > provider.maxAgeSeconds) return `${provider.name} last vouched for ${identity.user} ${Math.floor(age)}s ago, longer than its max_age of ${provider.maxAgeSeconds}s allows`
  return undefined
}

const providerOf = (ctx: BrokerContext, identity: OidcIdentity): IdentityProvider | undefined =>
  ctx.policy.identityProviders.find((p) => p.name === identity.provider && p.issuer === identity.issuer)

/** Last attempt per user, so an unreachable provider is asked again at most every few seconds, not every sweep. */
const lastTried = new Map<string, number>()
const RETRY_MS = 5000

/** Asks the provider again about user when the last answer is older than half its max_age. Never throws: the gate decides on what is recorded. */
async function refreshIfDue(ctx: BrokerContext, identity: OidcIdentity, log: (line: string) => void): Promise<void> {
  const provider = providerOf(ctx, identity)
  if (!provider || identity.refusedAt) return
  const now = ctx.now()
  if (now / 1000 - identity.checkedAt < provider.maxAgeSeconds / 2) return
  if (now - (lastTried.get(identity.user) ?? 0) < RETRY_MS) return
  lastTried.set(identity.user, now)
  if (!identity.refreshToken) return refuse(ctx, provider, identity, 'the provider gave no refresh token to ask it again with')
  try {
    const answer = await refresh(provider, identity.refreshToken)
    await ctx.store.transaction(async (tx) => {
      // A new ID token carries the groups as they are now: the roles follow them.
      if (answer.claims.sub !== undefined) await applyRoles(tx, provider, identify(provider, answer.claims), `oidc:${provider.name}`)
      await tx.oidcIdentities.vouched(identity.user, Math.floor(ctx.now() / 1000), answer.refreshToken)
    })
    lastTried.delete(identity.user)
  } catch (error) {
    if (error instanceof ProviderRefused || (error as { code?: string }).code === 'auth-failed') return refuse(ctx, provider, identity, (error as Error).message)
    // Unreachable: nothing is known; once max_age passes the gate refuses new sessions.
    log(`warning: ${provider.name} could not be asked about ${identity.user}: ${(error as Error).message}`)
  }
}

/** The provider no longer vouches for this user: their sessions end now, their requests are cancelled. */
async function refuse(ctx: BrokerContext, provider: IdentityProvider, identity: OidcIdentity, why: string): Promise<void> {
  const by = `oidc:${provider.name}`
  const reason = `${provider.name} no longer vouches for ${identity.user}`
  const ended = await ctx.store.transaction(async (tx) => {
    await tx.oidcIdentities.refused(identity.user, nowIso(ctx.now()))
    const ended = await endAccessOf(ctx, { user: identity.user }, by, 'idp-refused', reason)
    await tx.appendAudit({ type: 'oidc.refused', severity: 'high', actor: by, data: { user: identity.user, why, sessionsEnded: ended.sessions, requestsCancelled: ended.requests.map((r) => r.id) } })
    return ended
  })
  for (const request of ended.requests) ctx.events.emit(`request:${request.id}`)
  ctx.notifier.kick()
}

/** The sweeper's part: every identity past half its max_age is asked about again. */
export async function keepIdentitiesFresh(ctx: BrokerContext, log: (line: string) => void): Promise<void> {
  const providers = ctx.policy.identityProviders
  if (providers.length === 0) return
  const shortest = Math.min(...providers.map((p) => p.maxAgeSeconds))
  for (const identity of await ctx.store.oidcIdentities.due(ctx.now() / 1000 - shortest / 2)) await refreshIfDue(ctx, identity, log)
}
