// A workload's enrollment on its host: a folder only the workload's user can enter (0700) with
// the private key (key.pem, 0600) and what the key is enrolled as (workload.json). No keychain: a
// server has none. Every later call is signed with this key the way a device signs (the same
// assertion, bound to the broker), so the key is refused by the broker once the workload is
// disabled, and a key file another user could read, or one in a folder others can enter, is
// refused here before it is used.
import { createPrivateKey } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { AuthError, UsageError } from '../../errors.js'
import { configDir } from '../config/config.js'
import { writePrivateFile } from '../config/private-file.js'
import type { DeviceKey } from '../device/device-key.js'

export interface WorkloadEnrollment {
  workload: string
  spiffeId: string
  deviceId: string
  broker: string
  issuer: string
  caFile?: string
  insecure?: boolean
}

const NAME = /^[a-z][a-z0-9._-]{0,63}$/

/** --dir, else JIT_WORKLOAD_DIR, else workloads/NAME in jit's configuration folder. */
export function workloadFolder(name: string, dir?: string): string {
  if (!NAME.test(name)) throw new UsageError(`"${name}" is not a workload name (lower-case letters, digits, . _ -).`)
  return dir ?? process.env.JIT_WORKLOAD_DIR ?? join(configDir(), 'workloads', name)
}

export function saveWorkloadEnrollment(folder: string, enrollment: WorkloadEnrollment, privateKeyPem: string): void {
  writePrivateFile(join(folder, 'key.pem'), privateKeyPem)
  writePrivateFile(join(folder, 'workload.json'), `${JSON.stringify(enrollment, null, 2)}\n`)
  assertPrivate(folder)
}

/** Refuses a folder or key that anyone but this user could reach (POSIX modes and owner). */
function assertPrivate(folder: string): void {
  if (process.platform === 'win32') return
  const uid = process.getuid?.()
  for (const [path, kind] of [[folder, 'folder'], [join(folder, 'key.pem'), 'key file']] as const) {
    const stat = statSync(path)
    const problems: string[] = []
    if ((stat.mode & 0o077) !== 0) problems.push(`its mode is ${(stat.mode & 0o777).toString(8)}, not ${kind === 'folder' ? '700' : '600'}`)
    if (uid !== undefined && stat.uid !== uid) problems.push(`it belongs to uid ${stat.uid}, not to this user (uid ${uid})`)
    if (problems.length > 0) {
      throw new AuthError(`Refusing the workload ${kind} ${path}: ${problems.join(' and ')}.`, [
        'A workload key must be readable by the workload\'s user alone: chmod 700 the folder, chmod 600 key.pem, owned by that user.',
        'If the key was copied or exposed, disable the workload and enroll again with a new join token.',
      ])
    }
  }
}

export function loadWorkloadEnrollment(name: string, folder: string): { enrollment: WorkloadEnrollment; key: DeviceKey } {
  if (!existsSync(join(folder, 'workload.json')) || !existsSync(join(folder, 'key.pem'))) {
    throw new AuthError(`Workload ${name} is not enrolled on this host (nothing in ${folder}).`, [`Enroll it with a join token: jit workload enroll ${name} --broker URL --token-file FILE`])
  }
  assertPrivate(folder)
  let enrollment: WorkloadEnrollment
  let pem: string
  try {
    enrollment = JSON.parse(readFileSync(join(folder, 'workload.json'), 'utf8')) as WorkloadEnrollment
    pem = readFileSync(join(folder, 'key.pem'), 'utf8')
  } catch (error) {
    throw new AuthError(`Cannot read the enrollment of workload ${name} in ${folder} (${(error as Error).message}).`)
  }
  if (enrollment.workload !== name) throw new AuthError(`${folder} holds the key of workload ${enrollment.workload}, not ${name}.`)
  return { enrollment, key: { deviceId: enrollment.deviceId, privateKey: createPrivateKey(pem) } }
}
