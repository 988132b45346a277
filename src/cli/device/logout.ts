// Logging this device out: the broker ends every active session of the device and deregisters it
// (one transaction; its key is refused from then on); then this device forgets its cached
// credentials, its device key and the enrollment in its profile. The broker goes first: if it
// cannot be reached nothing is deleted here, so the user can try again and no session is left
// without a key that could still end it.
import type { CliContext } from '../context.js'
import { writeProfile } from '../config/config.js'
import { KeychainError } from '../../errors.js'
import { readJournal, removeFromJournal } from '../sessions/revocation-journal.js'
import type { DeregisterResult, SessionInfo } from '../../wire/api.js'
import { deviceAccount } from './device-key.js'

export interface LogoutResult {
  deviceId: string
  user?: string
  broker: string
  revoked: SessionInfo[]
  credentialsCleared: number
  deviceKeyDeleted: boolean
}

export async function logout(cli: CliContext): Promise<LogoutResult> {
  const deviceId = cli.deviceId
  const broker = cli.brokerUrl
  const client = await cli.client()
  const { revoked } = await client.post<DeregisterResult>('/device/deregister')
  // Every session of this device ended with it, including any queued in the journal.
  for (const entry of readJournal()) if (entry.profile === cli.options.profile) await removeFromJournal(entry.sessionId)
  writeProfile(cli.options.profile, { ...cli.profile, deviceId: undefined, user: undefined })
  try {
    const credentialsCleared = await cli.cache().clear()
    const deviceKeyDeleted = await cli.keychain.delete(deviceAccount(deviceId))
    return { deviceId, user: cli.profile.user, broker, revoked, credentialsCleared, deviceKeyDeleted }
  } catch (error) {
    const e = error instanceof KeychainError ? error : new KeychainError((error as Error).message)
    throw new KeychainError(`Logged out at the broker (the device key no longer works), but the keychain could not be cleaned: ${e.message}`, e.nextSteps)
  }
}
