// Verifies the short-lived assertion that a device signs for every API call: signature by the
// enrolled device key, made for this broker (its issuer), method, path and body hash bound, at most ASSERTION_MAX_AGE_SECONDS old,
// and a unique id that is never accepted twice. The token's own checks are src/util/jws.ts's.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { decodeJws, signatureHolds } from '../util/jws.js'
import { ASSERTION_MAX_AGE_SECONDS, DEVICE_ASSERTION_SHAPE, DEVICE_AUTH_SCHEME } from '../wire/api.js'
import { authFailed } from './api-error.js'
import { CLOCK_SKEW_SECONDS, clockSkewRefusal } from './clock-skew.js'
import type { Actor, BrokerContext } from './context.js'
import { isWorkloadPrincipal } from './spiffe/spiffe-id.js'

const keyCache = new Map<string, KeyObject>()

export interface AssertionClaims {
  iss: string
  /** The broker the assertion is meant for: its issuer. */
  aud: string
  iat: number
  exp: number
  jti: string
  htm: string
  htu: string
  bh: string
}

export function bodyHash(body: string | Buffer | undefined): string {
  return createHash('sha256').update(body ?? '').digest('base64url')
}

export async function authenticateDevice(ctx: BrokerContext, header: string | undefined, method: string, url: string, rawBody: string | undefined): Promise<Actor> {
  if (!header?.startsWith(`${DEVICE_AUTH_SCHEME} `)) throw authFailed('This call needs a signed device assertion. Is this device enrolled?')
  const jws = decodeJws(header.slice(DEVICE_AUTH_SCHEME.length + 1).trim(), DEVICE_ASSERTION_SHAPE)
  if (!jws || typeof jws.header.kid !== 'string') throw authFailed('The device assertion is malformed.')
  const device = await ctx.store.devices.get(jws.header.kid)
  if (!device) throw authFailed('This device is not enrolled with this broker.')
  if (device.revokedAt) throw authFailed('This device was deregistered; enroll it again.')
  let key = keyCache.get(device.id)
  if (!key) {
    key = createPublicKey({ key: device.publicJwk, format: 'jwk' })
    keyCache.set(device.id, key)
  }
  if (!signatureHolds(jws, key)) throw authFailed('The device assertion signature does not verify.')
  const claims = jws.claims as Partial<AssertionClaims>
  const now = ctx.now() / 1000
  if (claims.iss !== device.id || typeof claims.jti !== 'string' || claims.jti.length < 16) throw authFailed('The device assertion is malformed.')
  if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || !(claims.exp - claims.iat <= ASSERTION_MAX_AGE_SECONDS)) throw authFailed('The device assertion is malformed.')
  if (!(claims.exp > now - CLOCK_SKEW_SECONDS) || !(claims.iat < now + CLOCK_SKEW_SECONDS)) throw clockSkewRefusal(claims.iat, now)
  if (claims.aud !== ctx.issuer) throw authFailed(`The device assertion was made for another broker (${typeof claims.aud === 'string' ? claims.aud.slice(0, 200) : 'none named'}), not ${ctx.issuer}.`)
  if (claims.htm !== method || claims.htu !== url) throw authFailed('The device assertion was made for another call.')
  if (claims.bh !== bodyHash(rawBody)) throw authFailed('The device assertion does not match the request body.')
  if (!(await ctx.store.seenAssertions.remember(claims.jti, Math.ceil(claims.exp + CLOCK_SKEW_SECONDS)))) throw authFailed('This signed request was already used once (replay refused).')
  const user = await ctx.store.users.get(device.user)
  // A workload's key is a device of its principal: the same assertion, bound to the workload.
  if (isWorkloadPrincipal(device.user)) {
    const workload = await ctx.store.workloads.bySpiffeId(device.user)
    if (!workload || workload.disabled || !user || user.disabled) throw authFailed(`The workload of this key (${device.user}) is ${workload ? 'disabled' : 'removed'}.`)
    return { user, deviceId: device.id, workload }
  }
  if (!user || user.disabled) throw authFailed('The user of this device is disabled.')
  return { user, deviceId: device.id }
}

/** Forget a device's cached key after it is deregistered. */
export function forgetDeviceKey(deviceId: string): void {
  keyCache.delete(deviceId)
}
