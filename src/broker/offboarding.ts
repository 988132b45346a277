// Offboarding: disabling a user, revoking a device, revoking unused enrollment codes, rotating
// or removing a verifier. Each ends at once what it should (the sessions of the user or device,
// through endSessionRecorded with the cause named; their pending requests, cancelled), each is
// audited, and each works the same from the admin API and on the data folder (admin.ts).
import { createHash, randomBytes } from 'node:crypto'
import { nowIso } from '../util/ids.js'
import type { AccessRequest, SessionInfo } from '../wire/api.js'
import { badInput, conflict, notFound } from './api-error.js'
import type { BrokerContext } from './context.js'
import { forgetDeviceKey } from './device-auth.js'
import { endSessionRecorded } from './sessions.js'
import { publicSession, type DeviceRecord } from './store/records.js'

export type EndCause = 'user-disabled' | 'device-revoked' | 'logout' | 'idp-refused' | 'workload-disabled'

export interface Offboarded {
  sessionsEnded: SessionInfo[]
  requestsCancelled: string[]
}

/** Ends the active sessions and cancels the pending requests of a user (or of one device). Call inside a transaction. */
export async function endAccessOf(ctx: BrokerContext, who: { user: string; deviceId?: string }, by: string, cause: EndCause, reason: string): Promise<{ sessions: string[]; requests: AccessRequest[] }> {
  const nowEpoch = ctx.now() / 1000
  const sessions: string[] = []
  for (const session of await ctx.store.sessions.list({ user: who.user, deviceId: who.deviceId, activeOnly: true }, nowEpoch)) {
    if (await endSessionRecorded(ctx, session, { state: 'revoked', by, reason, severity: cause === 'logout' ? undefined : 'high', data: { cause, reason, deviceId: session.deviceId } })) sessions.push(session.id)
  }
  const requests: AccessRequest[] = []
  for (const request of await ctx.store.requests.list({ user: who.user, state: 'pending', limit: 10_000 })) {
    if (who.deviceId && request.deviceId !== who.deviceId) continue
    Object.assign(request, { state: 'cancelled', decidedAt: nowIso(ctx.now()), decidedBy: by, decisionComment: reason })
    await ctx.store.appendAudit({ type: 'request.cancelled', actor: by, requestId: request.id, data: { cause, reason } })
    await ctx.store.requests.save(request)
    requests.push(request)
  }
  return { sessions, requests }
}

export async function finishOffboarding(ctx: BrokerContext, ended: { sessions: string[]; requests: AccessRequest[] }): Promise<Offboarded> {
  for (const request of ended.requests) ctx.events.emit(`request:${request.id}`)
  ctx.notifier.kick()
  const nowEpoch = ctx.now() / 1000
  const sessionsEnded: SessionInfo[] = []
  for (const id of ended.sessions) sessionsEnded.push(publicSession((await ctx.store.sessions.get(id, nowEpoch))!))
  return { sessionsEnded, requestsCancelled: ended.requests.map((r) => r.id) }
}

export async function disableUser(ctx: BrokerContext, by: string, name: string, reason = 'user disabled'): Promise<Offboarded & { user: string; disabled: true }> {
  const ended = await ctx.store.transaction(async (tx) => {
    const user = await tx.users.get(name)
    if (!user) throw notFound(`User ${name}`)
    await tx.users.upsert({ ...user, disabled: true })
    const ended = await endAccessOf(ctx, { user: name }, by, 'user-disabled', reason)
    await tx.appendAudit({ type: 'user.disabled', severity: 'high', actor: by, data: { user: name, reason, sessionsEnded: ended.sessions, requestsCancelled: ended.requests.map((r) => r.id) } })
    return ended
  })
  return { user: name, disabled: true, ...(await finishOffboarding(ctx, ended)) }
}

export async function enableUser(ctx: BrokerContext, by: string, name: string): Promise<{ user: string; disabled: false }> {
  await ctx.store.transaction(async (tx) => {
    const user = await tx.users.get(name)
    if (!user) throw notFound(`User ${name}`)
    if (!user.disabled) throw conflict(`User ${name} is not disabled.`)
    await tx.users.upsert({ ...user, disabled: false })
    await tx.appendAudit({ type: 'user.enabled', severity: 'high', actor: by, data: { user: name } })
  })
  return { user: name, disabled: false }
}

export type DeviceListing = Omit<DeviceRecord, 'publicJwk'>

export async function listDevices(ctx: BrokerContext, user?: string): Promise<DeviceListing[]> {
  return (await ctx.store.devices.list(user)).map(({ publicJwk: _key, ...device }) => device)
}

/** A stolen laptop: its sessions end, its pending requests are cancelled, every later call signed with its key is refused. */
export async function revokeDevice(ctx: BrokerContext, by: string, deviceId: string, reason = 'device revoked', cause: EndCause = 'device-revoked'): Promise<Offboarded & { deviceId: string; user: string }> {
  const { ended, user } = await ctx.store.transaction(async (tx) => {
    const device = await tx.devices.get(deviceId)
    if (!device) throw notFound(`Device ${deviceId}`)
    if (device.revokedAt) throw conflict(`Device ${deviceId} was already revoked at ${device.revokedAt}.`)
    const ended = await endAccessOf(ctx, { user: device.user, deviceId }, by, cause, reason)
    await tx.devices.revoke(deviceId)
    await tx.appendAudit({
      type: cause === 'logout' ? 'device.deregistered' : 'device.revoked',
      severity: cause === 'logout' ? 'info' : 'high',
      actor: by,
      data: { deviceId, user: device.user, reason, sessionsRevoked: ended.sessions, requestsCancelled: ended.requests.map((r) => r.id) },
    })
    return { ended, user: device.user }
  })
  forgetDeviceKey(deviceId)
  return { deviceId, user, ...(await finishOffboarding(ctx, ended)) }
}

/** Every unused enrollment code of a user stops working. */
export async function revokeEnrollmentCodes(ctx: BrokerContext, by: string, user: string): Promise<{ user: string; revoked: number }> {
  return ctx.store.transaction(async (tx) => {
    if (!(await tx.users.get(user))) throw notFound(`User ${user}`)
    const revoked = await tx.enrollmentCodes.revokeUnused(user)
    await tx.appendAudit({ type: 'enrollment.codes-revoked', severity: 'high', actor: by, data: { user, revoked } })
    return { user, revoked }
  })
}

const VERIFIER_NAME = /^[a-z][a-z0-9._-]{0,63}$/
const newVerifierToken = () => `jitv_${randomBytes(24).toString('base64url')}`
/** How a verifier token is kept and looked up: its SHA-256 only, never the token. */
export const verifierTokenHash = (token: string) => createHash('sha256').update(token).digest('hex')

/** A bearer token for a verifier (gateway, jump host) to call introspection. Shown once; only its hash is kept. */
export async function addVerifier(ctx: BrokerContext, by: string, name: string): Promise<{ name: string; token: string }> {
  if (!VERIFIER_NAME.test(name)) throw badInput(`"${name}" is not a verifier name (lower-case letters, digits, . _ -).`)
  const token = newVerifierToken()
  await ctx.store.transaction(async (tx) => {
    if ((await tx.verifiers.list()).some((v) => v.name === name)) throw conflict(`Verifier ${name} already exists.`, { nextSteps: [`Give it a new token: jit admin verifier rotate ${name}`, `Or remove it first: jit admin verifier remove ${name}`] })
    await tx.verifiers.add(name, verifierTokenHash(token))
    await tx.appendAudit({ type: 'verifier.added', actor: by, data: { verifier: name } })
  })
  return { name, token }
}

export function listVerifiers(ctx: BrokerContext): Promise<{ name: string; createdAt: string }[]> {
  return ctx.store.verifiers.list()
}

/** A new token for a verifier; the old one stops working at once. */
export async function rotateVerifier(ctx: BrokerContext, by: string, name: string): Promise<{ name: string; token: string }> {
  const token = newVerifierToken()
  await ctx.store.transaction(async (tx) => {
    if (!(await tx.verifiers.replaceToken(name, verifierTokenHash(token)))) throw notFound(`Verifier ${name}`)
    await tx.appendAudit({ type: 'verifier.rotated', severity: 'high', actor: by, data: { verifier: name } })
  })
  return { name, token }
}

export async function removeVerifier(ctx: BrokerContext, by: string, name: string): Promise<{ name: string; removed: true }> {
  await ctx.store.transaction(async (tx) => {
    if (!(await tx.verifiers.remove(name))) throw notFound(`Verifier ${name}`)
    await tx.appendAudit({ type: 'verifier.removed', severity: 'high', actor: by, data: { verifier: name } })
  })
  return { name, removed: true }
}
