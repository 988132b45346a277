// Who may be issued an SVID: a workload (authenticated by its enrolled key, as any device
// assertion) that holds an active session now. The SVID lives inside that session: its validity
// ends no later than the session does, and its audit record names the session.
import { forbidden } from '../api-error.js'
import type { Actor, BrokerContext } from '../context.js'
import type { AuthenticatedWorkload } from '../spiffe/routes.js'

export async function svidHolder(ctx: BrokerContext, actor: Actor): Promise<AuthenticatedWorkload> {
  if (!actor.workload) throw forbidden('SVIDs are issued to workloads only.')
  const live = await ctx.store.sessions.list({ user: actor.user.name, activeOnly: true }, ctx.now() / 1000)
  const session = live.sort((a, b) => b.expiresAtEpoch - a.expiresAtEpoch)[0]
  if (!session) throw forbidden(`${actor.workload.spiffeId} holds no active session; an SVID lives only inside one.`, ['Start the job with jit run first.'])
  return { spiffeId: actor.workload.spiffeId, sessionExpiresAt: new Date(session.expiresAtEpoch * 1000), sessionId: session.id }
}
