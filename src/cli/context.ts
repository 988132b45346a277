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

  /** `profile`: what a workload's folder says (workload-context.ts), instead of the configuration file's profile. */
  constructor(readonly options: GlobalOptions, readonly keychain: Keychain = new SystemKeychain(), profile?: Profile) {
    this.profile = profile ?? readProfile(options.profile)
  }

  /** The broker, or several of one plant separated by commas: --broker / JIT_BROKER, else the profile. */
  get brokerUrl(): string {
    const url = this.options.broker ?? enrolledList(this.profile)
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
      // Without a recorded issuer (an enrollment from before brokers named one), each broker's own origin.
      this.#client ??= new BrokerClient({ ...anonymous.options, audience: this.profile.issuer }, key)
    }
    return this.#client
  }

  /**
   * The enrolled brokers' URLs; a --broker / JIT_BROKER naming any other is refused rather than
   * signed for. Naming some of the enrolled brokers (in another order) is fine.
   */
  enrolledBroker(): string {
    const enrolled = enrolledList(this.profile)
    if (!enrolled || !this.profile.deviceId) return this.brokerUrl
    if (this.options.broker === undefined) return enrolled
    const allowed = new Set(enrolled.split(',').map(originOf))
    const asked = this.options.broker.split(',').map((url) => url.trim()).filter((url) => url.length > 0)
    if (asked.length === 0 || asked.some((url) => !allowed.has(originOf(url)))) {
      throw new AuthError(`This device is enrolled with ${enrolled} (profile "${this.options.profile}"); it signs only for that broker, not ${this.options.broker}.`, [
        `To use ${this.options.broker}, enroll a profile for it: jit login --profile NAME --broker ${this.options.broker} --code CODE, then pass --profile NAME.`,
        'Or drop --broker / unset JIT_BROKER to use the enrolled broker.',
      ])
    }
    return asked.map(originOf).join(',')
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

/** The brokers the profile enrolled with, comma-separated (older profiles name one). */
function enrolledList(profile: Profile): string | undefined {
  return profile.brokers && profile.brokers.length > 0 ? profile.brokers.join(',') : profile.broker
}

function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}
