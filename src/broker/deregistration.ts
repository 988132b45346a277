// Deregistering a device (jit logout): every active session of the device ends, then the device
// itself, in one transaction. Any later call signed with its key is refused (device-auth.ts).
import type { DeregisterResult } from '../wire/api.js'
import type { Actor, BrokerContext } from './context.js'
import { forgetDeviceKey } from './device-auth.js'
import { endSessionRecorded } from './sessions.js'
import { publicSession } from './store/sqlite-store.js'

export function deregisterDevice(ctx: BrokerContext, actor: Actor): DeregisterResult {
  const reason = 'device logged out'
  const ended = ctx.store.transaction(() => {
    const ids: string[] = []
    for (const session of ctx.store.listSessions({ deviceId: actor.deviceId, activeOnly: true }, ctx.now() / 1000)) {
      if (endSessionRecorded(ctx, session, { state: 'revoked', by: actor.user.name, reason, data: { reason, cause: 'logout', deviceId: actor.deviceId } })) ids.push(session.id)
    }
    ctx.store.revokeDevice(actor.deviceId)
    ctx.store.appendAudit({ type: 'device.deregistered', actor: actor.user.name, data: { deviceId: actor.deviceId, sessionsRevoked: ids } })
    return ids
  })
  forgetDeviceKey(actor.deviceId)
  ctx.notifier.kick()
  return { deviceId: actor.deviceId, revoked: ended.map((id) => publicSession(ctx.store.getSession(id, ctx.now() / 1000)!)) }
}
