// Signing in with an OpenID provider: the provider's answer becomes a jit user (made on the first
// sign-in when one of their groups maps to a role), their roles follow their groups, and the
// device's key is enrolled in the same transaction, so what the sign-in yields is device-bound.
import type { IdentityProvider } from '../../policy/types.js'
import type { EnrollBody, EnrollResult } from '../../wire/api.js'
import { ApiError, authFailed, badInput } from '../api-error.js'
import type { BrokerContext } from '../context.js'
import { registerDevice } from '../enrollment.js'
import type { Store } from '../store/store.js'
import type { ProviderAnswer } from './relying-party.js'

const USER_NAME = /^[a-z][a-z0-9._-]{0,63}$/

export interface Identified {
  user: string
  subject: string
  roles: string[]
}

/** Who the provider says this is, and their jit roles by group; a refusal in words the user can act on. */
export function identify(provider: IdentityProvider, claims: Record<string, unknown>): Identified {
  const subject = claims.sub
  const name = claims[provider.userClaim]
  if (typeof subject !== 'string' || !subject) throw authFailed(`${provider.name} sent an ID token without a subject.`)
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw new ApiError(401, 'auth-failed', `${provider.name} did not name a jit user: its claim "${provider.userClaim}" is ${typeof name === 'string' ? `"${name.slice(0, 64)}", not a user name (lower-case letters, digits, . _ -)` : 'missing'}.`, {
      nextSteps: ['Ask the broker operator to choose a user_claim that holds a short lower-case name.'],
    })
  }
  const groups = claims[provider.groupsClaim]
  const held = Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : []
  const roles = [...new Set(held.flatMap((group) => provider.groups[group] ?? []))].sort()
  if (roles.length === 0) {
    throw new ApiError(401, 'auth-failed', `${name} is known to ${provider.name} but in none of the groups that give a jit role.`, {
      nextSteps: [`Ask to be added to one of: ${Object.keys(provider.groups).join(', ')}.`],
    })
  }
  return { user: name, subject, roles }
}

/** The sign-in: the user made or updated, the identity linked and vouched for now, the device enrolled. */
export async function signIn(ctx: BrokerContext, provider: IdentityProvider, answer: ProviderAnswer, device: Pick<EnrollBody, 'publicKey' | 'deviceName'>): Promise<EnrollResult> {
  const who = identify(provider, answer.claims)
  const actor = `oidc:${provider.name}` as const
  return ctx.store.transaction(async (tx) => {
    await bindIdentity(tx, provider, who)
    await applyRoles(tx, provider, who, actor)
    await tx.oidcIdentities.save({ user: who.user, provider: provider.name, issuer: provider.issuer, subject: who.subject, refreshToken: answer.refreshToken, checkedAt: Math.floor(ctx.now() / 1000) })
    await tx.appendAudit({ type: 'oidc.signed-in', actor: who.user, data: { provider: provider.name, subject: who.subject, roles: who.roles } })
    return registerDevice(ctx, tx, who.user, device, actor)
  })
}

/** One subject per user name: a name the provider gives to another subject than before is refused, never taken over. */
async function bindIdentity(tx: Store, provider: IdentityProvider, who: Identified): Promise<void> {
  const bySubject = await tx.oidcIdentities.bySubject(provider.issuer, who.subject)
  if (bySubject && bySubject.user !== who.user) {
    throw authFailed(`${provider.name} now names this account "${who.user}", but it signed in before as "${bySubject.user}"; ask the broker operator.`)
  }
  const byName = await tx.oidcIdentities.get(who.user)
  if (byName && (byName.issuer !== provider.issuer || byName.subject !== who.subject)) {
    throw authFailed(`The jit user "${who.user}" belongs to another account of ${byName.provider}; ask the broker operator.`)
  }
}

/** The provider is the source of truth for roles: they follow the mapped groups at each sign-in and refresh. */
export async function applyRoles(tx: Store, provider: IdentityProvider, who: Identified, actor: string): Promise<void> {
  const user = await tx.users.get(who.user)
  if (!user) {
    await tx.users.upsert({ name: who.user, roles: who.roles, disabled: false })
    await tx.appendAudit({ type: 'user.created', actor, data: { user: who.user, roles: who.roles, provider: provider.name, subject: who.subject } })
    return
  }
  if (user.disabled) throw authFailed(`${who.user} is disabled on this broker; the broker operator can enable them (jit admin user enable).`)
  if (user.roles.join(',') !== who.roles.join(',')) {
    await tx.users.upsert({ ...user, roles: who.roles })
    await tx.appendAudit({ type: 'user.roles-changed', severity: 'high', actor, data: { user: who.user, from: user.roles, to: who.roles, provider: provider.name } })
  }
}

export function providerNamed(ctx: BrokerContext, name: string | undefined): IdentityProvider {
  const providers = ctx.policy.identityProviders
  if (providers.length === 0) throw badInput('This broker has no identity provider; sign in with an enrollment code (jit login --code).')
  if (name === undefined) {
    if (providers.length > 1) throw badInput(`Name the identity provider: ${providers.map((p) => p.name).join(', ')}.`, ['Pass --provider NAME.'])
    return providers[0]
  }
  const provider = providers.find((p) => p.name === name)
  if (!provider) throw badInput(`There is no identity provider "${name.slice(0, 64)}"; this broker has ${providers.map((p) => p.name).join(', ')}.`)
  return provider
}
