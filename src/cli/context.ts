// What a command needs to talk to the broker as this device: the resolved profile, the
// keychain, the device key and a signed client. Everything is loaded lazily.
import { BrokerClient, loadHttpClient } from './broker-client/broker-client.js'
import { readProfile, type Profile } from './config/config.js'
import { CredentialCache } from './keychain/credential-cache.js'
import { loadDeviceKey, type DeviceKey } from './device/device-key.js'
import { AuthError, UsageError } from '../errors.js'
import { SystemKeychain, type Keychain } from './keychain/keychain.js'

export interface GlobalOptions {
  profile: string
  broker?: string
  caFile?: string
  insecure?: boolean
}

export class CliContext {
  readonly profile: Profile
  #key?: Promise<DeviceKey>
  #client?: BrokerClient

  constructor(readonly options: GlobalOptions, readonly keychain: Keychain = new SystemKeychain()) {
    this.profile = readProfile(options.profile)
  }

  get brokerUrl(): string {
    const url = this.options.broker ?? this.profile.broker
    if (!url) throw new UsageError('No broker is configured.', ['Enroll first: jit login --broker URL --code CODE, or pass --broker / JIT_BROKER.'])
    return url
  }

  get deviceId(): string {
    if (!this.profile.deviceId) throw new AuthError(`This device is not enrolled (profile "${this.options.profile}").`, ['Enroll it: jit login --broker URL --code CODE'])
    return this.profile.deviceId
  }

  /** An unsigned client, for enrollment and public endpoints. */
  anonymousClient(broker = this.brokerUrl): BrokerClient {
    return new BrokerClient({ broker, caFile: this.options.caFile ?? this.profile.caFile, insecure: this.options.insecure ?? this.profile.insecure, onClockCorrected: warnClockCorrected })
  }

  deviceKey(): Promise<DeviceKey> {
    this.#key ??= loadDeviceKey(this.keychain, this.deviceId)
    return this.#key
  }

  /**
   * A client that signs every call with this device's key, for the broker this device enrolled
   * with and no other: an assertion names that broker, so one signed for a server we were merely
   * pointed at (--broker, JIT_BROKER) could be replayed against the real broker.
   */
  async client(): Promise<BrokerClient> {
    if (!this.#client) {
      const enrolled = this.enrolledBroker()
      const anonymous = this.anonymousClient(enrolled)
      // The keychain answers on a thread of its own: load the HTTP client meanwhile.
      const [key] = await Promise.all([this.deviceKey(), loadHttpClient()])
      this.#client ??= new BrokerClient({ ...anonymous.options, audience: this.profile.issuer ?? enrolled }, key)
    }
    return this.#client
  }

  /** The enrolled broker's URL; a different --broker / JIT_BROKER is refused rather than signed for. */
  enrolledBroker(): string {
    const enrolled = this.profile.broker
    if (!enrolled || !this.profile.deviceId) return this.brokerUrl
    if (this.options.broker !== undefined && originOf(this.options.broker) !== originOf(enrolled)) {
      throw new AuthError(`This device is enrolled with ${enrolled} (profile "${this.options.profile}"); it signs only for that broker, not ${this.options.broker}.`, [
        `To use ${this.options.broker}, enroll a profile for it: jit login --profile NAME --broker ${this.options.broker} --code CODE, then pass --profile NAME.`,
        'Or drop --broker / unset JIT_BROKER to use the enrolled broker.',
      ])
    }
    return enrolled
  }

  cache(): CredentialCache {
    return new CredentialCache(this.keychain, this.deviceId)
  }

  async close(): Promise<void> {
    await this.#client?.close()
  }
}

async function warnClockCorrected(offsetSeconds: number): Promise<void> {
  const { ui } = await import('./output.js')
  const direction = offsetSeconds > 0 ? 'behind' : 'ahead of'
  ui.warn(`This computer's clock is ${Math.abs(offsetSeconds)}s ${direction} the broker's; jit signs its requests with the broker's time. Set the clock right (timedatectl set-ntp true / sntp / w32tm /resync).`)
}

function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}
