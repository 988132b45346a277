// Who may see and end a session besides the one who holds it: admin and security for every
// session; the approvers of its request and the members of its asset's owner group for that one
// session. Anyone else learns that the session exists and that they are not allowed, nothing more.
import { forbidden, notFound } from './api-error.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from './context.js'
import type { SessionRecord } from './store/records.js'

/** Why the actor may see and end the session; named in the audit record of an end. */
export type SessionAuthority = 'holder' | 'oversight' | 'approver' | 'owner-group'

/** The asset's owner group (a role), as the inventory records it. */
export async function ownerGroupOf(ctx: BrokerContext, asset: string): Promise<string | undefined> {
  const owner = (await ctx.store.assets.get(asset))?.attributes.owner
  return typeof owner === 'string' ? owner : undefined
}

export async function authorityOver(ctx: BrokerContext, actor: Actor, session: SessionRecord): Promise<SessionAuthority | undefined> {
  if (session.user === actor.user.name) return 'holder'
  if (hasAnyRole(actor.user, OVERSIGHT_ROLES)) return 'oversight'
  const request = await ctx.store.requests.get(session.requestId)
  if (request?.approvals.some((approval) => approval.by === actor.user.name)) return 'approver'
  const owner = await ownerGroupOf(ctx, session.asset)
  if (owner !== undefined && actor.user.roles.includes(owner)) return 'owner-group'
  return undefined
}

/** A session the actor may see and end, with the authority they have over it: 404 when there is none, 403 when it is not theirs to see. */
export async function overseenSession(ctx: BrokerContext, actor: Actor, id: string): Promise<{ session: SessionRecord; authority: SessionAuthority }> {
  const session = await ctx.store.sessions.get(id, ctx.now() / 1000)
  if (!session) throw notFound(`Session ${id}`)
  const authority = await authorityOver(ctx, actor, session)
  if (!authority) {
    throw forbidden(`Session ${id}: not allowed.`, ['only its holder, the approvers of its request, the owner group of its asset, security and admin may see or end it'])
  }
  return { session, authority }
}
