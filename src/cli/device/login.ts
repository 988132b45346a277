// Enrollment: make a device key, register its public half with a one-time code, keep the
// private half in the OS keychain, remember broker and device id in the profile. (Signing in
// with an identity provider, oidc-login.ts, ends the same way.)
import type { KeyObject } from 'node:crypto'
import { hostname } from 'node:os'
import type { BrokerClient } from '../broker-client/broker-client.js'
import type { CliContext } from '../context.js'
import { writeProfile } from '../config/config.js'
import type { EnrollResult } from '../../wire/api.js'
import { newDeviceKeyPair, saveDeviceKey } from './device-key.js'

export async function login(cli: CliContext, broker: string, code: string, deviceName = hostname()): Promise<EnrollResult & { broker: string }> {
  const client = cli.anonymousClient(broker)
  // Fail on a missing or locked keychain before the one-time code is spent: the probe stores an
  // item, reads it back and deletes it (a locked keychain can still answer a read).
  await cli.keychain.probe()
  const { privateKey, publicJwk } = newDeviceKeyPair()
  const result = await client.post<EnrollResult>('/enroll', { code: code.trim(), publicKey: publicJwk, deviceName })
  await client.close()
  return keepEnrollment(cli, client, privateKey, result)
}

/** After the broker enrolled the device: its private key to the keychain, broker and device to the profile. */
export async function keepEnrollment(cli: CliContext, client: BrokerClient, privateKey: KeyObject, result: EnrollResult): Promise<EnrollResult & { broker: string }> {
  await saveDeviceKey(cli.keychain, result.deviceId, privateKey)
  writeProfile(cli.options.profile, {
    ...cli.profile,
    broker: client.brokers[0].origin,
    brokers: client.brokers.length > 1 ? client.brokers.map((url) => url.origin) : undefined,
    issuer: result.issuer,
    deviceId: result.deviceId,
    user: result.user,
    caFile: cli.options.caFile ?? cli.profile.caFile,
    insecure: cli.options.insecure ?? cli.profile.insecure,
  })
  return { ...result, broker: client.base.origin }
}
