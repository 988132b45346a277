// `jit version`: which jit this is, what it runs on, which keychain it found, and whether the
// broker of the profile runs a version this CLI goes with.
import type { CliContext } from './context.js'
import { JitError } from '../errors.js'
import { buildInfo } from '../util/build-info.js'
import { isSingleExecutable } from '../util/self-command.js'

export interface VersionReport {
  version: string
  commit: string
  platform: string
  node: string
  singleExecutable: boolean
  keychain: { backend: string; state: 'available' | 'locked' | 'unavailable'; detail?: string }
  broker: { state: 'compatible' | 'incompatible' | 'unknown' | 'unreachable' | 'none'; url?: string; version?: string; detail?: string }
}

/** The OS keychain the binding talks to on each platform. */
export function keychainBackend(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return 'Windows Credential Manager'
  if (platform === 'darwin') return 'macOS Keychain'
  return 'Secret Service (D-Bus)'
}

/**
 * Whether a CLI and a broker of these versions go together: the same major version, and while
 * jit is 0.x the same minor (semver gives 0.x no compatibility promise across minors).
 */
export function versionsCompatible(cli: string, broker: string): boolean {
  const [a, b] = [cli, broker].map((v) => v.split('.').map(Number))
  if (a.some(Number.isNaN) || b.some(Number.isNaN)) return false
  return a[0] === b[0] && (a[0] !== 0 || a[1] === b[1])
}

async function keychainState(cli: CliContext): Promise<VersionReport['keychain']> {
  const backend = keychainBackend()
  try {
    await cli.keychain.probe()
    return { backend, state: 'available' }
  } catch (error) {
    if (!(error instanceof JitError)) throw error
    return { backend, state: (error.details.keychain as string) === 'locked' ? 'locked' : 'unavailable', detail: error.message }
  }
}

async function brokerState(cli: CliContext, version: string): Promise<VersionReport['broker']> {
  let url: string
  try {
    url = cli.brokerUrl
  } catch {
    return { state: 'none', detail: 'no broker in this profile (jit login --broker URL --code CODE)' }
  }
  try {
    const health = await cli.anonymousClient().get<{ version?: string }>('/healthz')
    if (!health.version) return { state: 'unknown', url, detail: 'the broker does not say its version (older than this CLI)' }
    const compatible = versionsCompatible(version, health.version)
    return { state: compatible ? 'compatible' : 'incompatible', url, version: health.version, ...(compatible ? {} : { detail: `this CLI is ${version}; use CLI and broker of the same ${version.startsWith('0.') ? 'minor' : 'major'} version` }) }
  } catch (error) {
    return { state: 'unreachable', url, detail: (error as Error).message }
  }
}

export async function versionReport(cli: CliContext): Promise<VersionReport> {
  const { version, commit } = buildInfo()
  const [keychain, broker] = await Promise.all([keychainState(cli), brokerState(cli, version)])
  return { version, commit, platform: `${process.platform}-${process.arch}`, node: process.version, singleExecutable: isSingleExecutable(), keychain, broker }
}
