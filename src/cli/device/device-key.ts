// This device's Ed25519 key: made at login, kept only in the OS keychain, used to sign a
// short-lived assertion for every call to the broker.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { AuthError } from '../../errors.js'
import type { Keychain } from '../keychain/keychain.js'
import { signJwt } from '../../util/jws.js'
import { ASSERTION_MAX_AGE_SECONDS, DEVICE_ASSERTION_SHAPE, DEVICE_AUTH_SCHEME } from '../../wire/api.js'

export interface DeviceKey {
  deviceId: string
  privateKey: KeyObject
}

export const deviceAccount = (deviceId: string) => `device:${deviceId}`

export function newDeviceKeyPair(): { privateKey: KeyObject; publicJwk: { kty: 'OKP'; crv: 'Ed25519'; x: string } } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string }
  return { privateKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } }
}

export async function saveDeviceKey(keychain: Keychain, deviceId: string, privateKey: KeyObject): Promise<void> {
  await keychain.set(deviceAccount(deviceId), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)
}

export async function loadDeviceKey(keychain: Keychain, deviceId: string | undefined): Promise<DeviceKey> {
  if (!deviceId) throw new AuthError('This device is not enrolled.', ['Enroll it: jit login --broker URL --code CODE'])
  const pem = await keychain.get(deviceAccount(deviceId))
  if (!pem) {
    // A locked keychain can answer "nothing there" to a read. Only one that can store right now
    // (else a KeychainError, exit 6, with how to unlock) has truly lost the key.
    await keychain.probe()
    throw new AuthError('The device key is missing from the OS keychain.', ['Enroll this device again: jit login --broker URL --code CODE'])
  }
  return { deviceId, privateKey: createPrivateKey(pem) }
}


/**
 * The Authorization header for one call: bound to the broker it is meant for (`audience`, the
 * issuer the broker named at enrollment), method, path and body; valid for a minute, used once.
 * nowMs is the broker's time as this process knows it (see BrokerClock).
 */
export function deviceAssertion(key: DeviceKey, method: string, pathAndQuery: string, body: string | undefined, audience: string, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000)
  const claims = {
    iss: key.deviceId,
    aud: audience,
    iat,
    exp: iat + ASSERTION_MAX_AGE_SECONDS,
    jti: randomBytes(16).toString('base64url'),
    htm: method,
    htu: pathAndQuery,
    bh: createHash('sha256').update(body ?? '').digest('base64url'),
  }
  return `${DEVICE_AUTH_SCHEME} ${signJwt(claims, key.privateKey, { typ: DEVICE_ASSERTION_SHAPE.typ, kid: key.deviceId })}`
}
