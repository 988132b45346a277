// What the broker knows about gateways: the assets each fronts (read from asset attributes
// `gateway`, `endpoint`, `endpointScopes`, `terminal`), where each listens and the certificate it
// presents (announced by the gateway itself). The record of each connection it carried is in
// connection-records.ts.
import type { AssetGateway, FrontedAsset, GatewayAnnouncement } from '../../wire/gateway.js'
import { notFound } from '../api-error.js'
import type { BrokerContext } from '../context.js'
import type { AssetRecord } from '../store/records.js'

/** What these functions use of the broker: its store and its clock. */
type StoreAndClock = Pick<BrokerContext, 'store' | 'now'>

/** The endpoint of an asset behind `gateway`, or undefined when its attributes do not name one well. */
export function frontedAsset(asset: AssetRecord, gateway: string): FrontedAsset | undefined {
  const a = asset.attributes
  if (a.gateway !== gateway || typeof a.endpoint !== 'string') return undefined
  const match = /^(.+):(\d{1,5})$/.exec(a.endpoint)
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) return undefined
  const scopes = Array.isArray(a.endpointScopes) ? a.endpointScopes.filter((s): s is string => typeof s === 'string') : undefined
  return { path: asset.path, host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]), ...(scopes ? { scopes } : {}), terminal: a.terminal === true, ...(a.protocol === 'modbus-tcp' ? { protocol: 'modbus-tcp' as const } : {}) }
}

export async function assetsFrontedBy(ctx: StoreAndClock, gateway: string): Promise<FrontedAsset[]> {
  return (await ctx.store.assets.list()).flatMap((asset) => frontedAsset(asset, gateway) ?? [])
}

export async function announceGateway(ctx: StoreAndClock, gateway: string, announcement: GatewayAnnouncement): Promise<{ gateway: string }> {
  const at = new Date(ctx.now()).toISOString()
  await ctx.store.transaction(async (tx) => {
    await tx.execute(
      'INSERT INTO gateways (name, address, cert_sha256, announced_at) VALUES (?,?,?,?) ON CONFLICT (name) DO UPDATE SET address = excluded.address, cert_sha256 = excluded.cert_sha256, announced_at = excluded.announced_at',
      [gateway, announcement.address, announcement.certSha256, at],
    )
    await tx.appendAudit({ type: 'gateway.announced', actor: `verifier:${gateway}`, data: { gateway, address: announcement.address, certSha256: announcement.certSha256 } })
  })
  return { gateway }
}

/** How an enrolled device reaches an asset: the gateway in front of it, where it listens, its certificate. */
export async function gatewayForAsset(ctx: StoreAndClock, assetPath: string): Promise<AssetGateway> {
  const asset = await ctx.store.assets.get(assetPath)
  const name = asset?.attributes.gateway
  if (!asset || typeof name !== 'string' || !frontedAsset(asset, name)) throw notFound(`A gateway for asset ${assetPath}`)
  const row = (await ctx.store.query('SELECT * FROM gateways WHERE name = ?', [name]))[0]
  if (!row) throw notFound(`A running gateway ${name} (it has not announced itself to the broker yet)`)
  return { asset: asset.path, gateway: name, address: row.address as string, certSha256: row.cert_sha256 as string }
}
