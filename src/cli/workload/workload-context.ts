// The CliContext of a workload: its enrollment and key come from its folder (workload-folder.ts),
// never from the configuration file or a keychain, so everything a device does through a
// CliContext (sign calls, heartbeats, revoke, the revocation journal) a workload does the same way.
import { CliContext } from '../context.js'
import type { DeviceKey } from '../device/device-key.js'
import { UsageError } from '../../errors.js'
import type { Keychain } from '../keychain/keychain.js'
import { loadWorkloadEnrollment, workloadFolder, type WorkloadEnrollment } from './workload-folder.js'

/** The profile name a workload's journal entries carry: the drain finds the folder by it. */
export const WORKLOAD_PROFILE_PREFIX = 'workload:'

/** A workload has no keychain; anything that reaches for one is a mistake, refused loudly. */
class NoKeychain implements Keychain {
  #refuse(): never {
    throw new UsageError('A workload keeps nothing in a keychain (jit run holds its credential in memory).')
  }
  probe = async () => this.#refuse()
  get = async () => this.#refuse()
  set = async () => this.#refuse()
  delete = async () => this.#refuse()
}

export class WorkloadContext extends CliContext {
  readonly #key: DeviceKey

  constructor(readonly enrollment: WorkloadEnrollment, key: DeviceKey, folder: string) {
    super({ profile: `${WORKLOAD_PROFILE_PREFIX}${enrollment.workload}:${folder}` }, new NoKeychain(), {
      broker: enrollment.broker, issuer: enrollment.issuer, deviceId: enrollment.deviceId, caFile: enrollment.caFile, insecure: enrollment.insecure,
    })
    this.#key = key
  }

  override deviceKey(): Promise<DeviceKey> {
    return Promise.resolve(this.#key)
  }
}

export function openWorkloadContext(name: string, dir?: string): WorkloadContext {
  const folder = workloadFolder(name, dir)
  const { enrollment, key } = loadWorkloadEnrollment(name, folder)
  return new WorkloadContext(enrollment, key, folder)
}

/** The workload context a journal entry's profile names (`workload:NAME:FOLDER`), or undefined for a person's profile. */
export function workloadContextOfProfile(profile: string): WorkloadContext | undefined {
  if (!profile.startsWith(WORKLOAD_PROFILE_PREFIX)) return undefined
  const rest = profile.slice(WORKLOAD_PROFILE_PREFIX.length)
  const colon = rest.indexOf(':')
  return openWorkloadContext(rest.slice(0, colon), rest.slice(colon + 1))
}
