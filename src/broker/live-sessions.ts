// The live sessions of the plant, for those who oversee them: security and admin see every one;
// the members of an asset's owner group see those on the assets their group owns. Anyone else is
// not allowed (they list their own sessions with GET /sessions).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { assetMatcher, assetPatternError } from '../policy/asset-pattern.js'
import type { LiveSessionList } from '../wire/api.js'
import { badInput, forbidden } from './api-error.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from './context.js'
import { toSession, type Row } from './store/records.js'
import { publicSession, type SessionRecord } from './store/records.js'
import type { Store } from './store/store.js'

/** Every session that is active and not past its expiry, oldest first. */
export async function liveSessionRecords(store: Store, nowEpoch: number): Promise<SessionRecord[]> {
  const rows: Row[] = await store.query("SELECT * FROM sessions WHERE state = 'active' AND expires_at > CAST(? AS NUMERIC) ORDER BY issued_at, id", [nowEpoch])
  return rows.map((row) => toSession(row, nowEpoch))
}

/** The live sessions the actor oversees, on assets matching `pattern` when given. */
export async function liveSessionsFor(ctx: BrokerContext, actor: Actor, pattern?: string): Promise<LiveSessionList> {
  const problem = pattern === undefined ? undefined : assetPatternError(pattern)
  if (problem) throw badInput(`The asset pattern ${pattern} is not valid: ${problem}.`, ['Give an asset path or a pattern such as plant-a/line-3/**.'])
  let owned: Set<string> | undefined
  if (!hasAnyRole(actor.user, OVERSIGHT_ROLES)) {
    owned = new Set((await ctx.store.assets.list()).filter((asset) => typeof asset.attributes.owner === 'string' && actor.user.roles.includes(asset.attributes.owner)).map((asset) => asset.path))
    if (owned.size === 0) {
      throw forbidden('Listing live sessions is not allowed.', ['security and admin see every live session; an asset owner group\'s members see those on the assets their group owns'])
    }
  }
  const matches = pattern === undefined ? () => true : assetMatcher(pattern)
  const now = ctx.now()
  const sessions = (await liveSessionRecords(ctx.store, now / 1000)).filter((s) => (!owned || owned.has(s.asset)) && matches(s.asset))
  return { sessions: sessions.map(publicSession), now: new Date(now).toISOString() }
}

export function registerLiveSessionsRoute(app: FastifyInstance, ctx: BrokerContext, actorOf: (request: FastifyRequest) => Promise<Actor>, prefix: string): void {
  const querystring = { type: 'object', additionalProperties: false, properties: { asset: { type: 'string', minLength: 1, maxLength: 512 } } }
  app.get(`${prefix}/sessions/live`, { schema: { querystring } }, async (request) => liveSessionsFor(ctx, await actorOf(request), (request.query as { asset?: string }).asset))
}
