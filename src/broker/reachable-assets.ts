// The assets a caller could ask for: those in the inventory that some rule names for them (and,
// for a vendor, that their contract covers). For shell completion of --asset: it tells a
// person nothing `jit request` or `jit policy explain` would not.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { assetMatches, isVendor, whoMatches } from '../policy/evaluate.js'
import { factsOf } from '../policy/inventory.js'
import type { Actor, BrokerContext } from './context.js'

const MAX_ASSETS = 1000

export async function reachableAssets(ctx: BrokerContext, actor: Actor): Promise<string[]> {
  const user = { name: actor.user.name, roles: actor.user.roles, org: actor.user.org }
  const rules = ctx.policy.rules.filter((rule) => whoMatches(rule, user))
  const breakGlass = ctx.policy.breakGlass
  const mayBreakGlass = breakGlass !== undefined && whoMatches(breakGlass, user)
  const vendor = isVendor(user)
  const paths: string[] = []
  for (const asset of await ctx.store.assets.list()) {
    if (vendor && !(user.org !== undefined && factsOf(asset.path, asset.attributes).vendors.includes(user.org))) continue
    if (rules.some((rule) => assetMatches(rule, asset.path)) || (mayBreakGlass && assetMatches(breakGlass, asset.path))) paths.push(asset.path)
    if (paths.length >= MAX_ASSETS) break
  }
  return paths
}

export function registerReachableAssetsRoute(app: FastifyInstance, ctx: BrokerContext, actorOf: (request: FastifyRequest) => Promise<Actor>, prefix: string): void {
  app.get(`${prefix}/assets`, async (request) => ({ assets: await reachableAssets(ctx, await actorOf(request)) }))
}
