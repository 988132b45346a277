// Deregistering a device (jit logout): every active session of the device ends, its pending
// requests are cancelled, then the device itself is revoked, in one transaction (offboarding.ts).
// Any later call signed with its key is refused (device-auth.ts).
import type { DeregisterResult } from '../wire/api.js'
import type { Actor, BrokerContext } from './context.js'
import { revokeDevice } from './offboarding.js'

export async function deregisterDevice(ctx: BrokerContext, actor: Actor): Promise<DeregisterResult & { requestsCancelled: string[] }> {
  const result = await revokeDevice(ctx, actor.user.name, actor.deviceId, 'device logged out', 'logout')
  return { deviceId: actor.deviceId, revoked: result.sessionsEnded, requestsCancelled: result.requestsCancelled }
}
