// One-time enrollment codes and device registration.
import { createHash, randomBytes } from 'node:crypto'
import { newId, nowIso } from '../util/ids.js'
import type { EnrollBody, EnrollResult } from '../wire/api.js'
import { jwkThumbprint } from '../wire/proof-of-possession.js'
import { authFailed, badInput } from './api-error.js'
import type { BrokerContext } from './context.js'
import type { Store } from './store/store.js'

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'

export const hashCode = (code: string) => createHash('sha256').update(code.trim().toUpperCase()).digest('hex')

/** Makes a one-time code for user; only its hash is stored. */
export async function makeEnrollmentCode(store: Store, user: string, validSeconds: number, actor: string): Promise<{ code: string; expiresAt: string }> {
  if (!(await store.users.get(user))) throw badInput(`There is no user "${user}".`, ['Add the user first: jit admin user add NAME --role ROLE'])
  const bytes = randomBytes(16)
  const chars = Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join('')
  const code = chars.match(/.{4}/g)!.join('-')
  const expiresAtEpoch = Math.floor(Date.now() / 1000) + validSeconds
  await store.transaction(async (tx) => {
    await tx.enrollmentCodes.add(hashCode(code), user, expiresAtEpoch)
    await tx.appendAudit({ type: 'enrollment.code-issued', actor, data: { user, expiresAt: nowIso(expiresAtEpoch * 1000) } })
  })
  return { code, expiresAt: nowIso(expiresAtEpoch * 1000) }
}

export async function enrollDevice(ctx: BrokerContext, body: EnrollBody): Promise<EnrollResult> {
  return ctx.store.transaction(async (tx) => {
    const user = await tx.enrollmentCodes.consume(hashCode(body.code), Math.floor(ctx.now() / 1000))
    if (!user) throw authFailed('This enrollment code is unknown, already used or expired. Ask the operator for a new one.')
    return registerDevice(ctx, tx, user, body, 'enrollment-code')
  })
}

/** The device's public key joins user's devices. Call inside a transaction, once the user is known to be who they say. */
export async function registerDevice(ctx: BrokerContext, tx: Store, user: string, device: Pick<EnrollBody, 'publicKey' | 'deviceName'>, via: 'enrollment-code' | `oidc:${string}`): Promise<EnrollResult> {
  // Kept as exactly the three members the thumbprint covers (the schema refuses any other).
  const publicKey = { kty: device.publicKey.kty, crv: device.publicKey.crv, x: device.publicKey.x }
  const jkt = await jwkThumbprint(publicKey)
  const deviceId = newId('dev')
  await tx.devices.add({ id: deviceId, user, name: device.deviceName, publicJwk: publicKey, jkt, createdAt: nowIso() })
  await tx.appendAudit({ type: 'device.enrolled', actor: user, data: { deviceId, deviceName: device.deviceName, jkt, ...(via === 'enrollment-code' ? {} : { via }) } })
  return { deviceId, user, roles: (await tx.users.get(user))!.roles, issuer: ctx.issuer }
}
