// Where the CLI keeps its non-secret settings (broker URL, device id, user) per profile, and how
// a setting is resolved: flag, then JIT_* environment variable, then this file.
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { writePrivateFile } from './private-file.js'

export interface Profile {
  /** The (first) broker enrolled with. */
  broker?: string
  /** Every broker of the plant, in the order to try them, when enrolled with several. */
  brokers?: string[]
  /** The issuer the broker named at enrollment: the audience of every device assertion. */
  issuer?: string
  deviceId?: string
  user?: string
  caFile?: string
  insecure?: boolean
}

interface ConfigFile {
  profiles: Record<string, Profile>
}

/**
 * The CLI's folder: JIT_HOME if set; else each platform's place for an application's settings:
 * %APPDATA%\jit on Windows, ~/Library/Application Support/jit on macOS, and
 * $XDG_CONFIG_HOME/jit (~/.config/jit) on Linux and wherever XDG_CONFIG_HOME is set.
 */
export function configDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (env.JIT_HOME) return env.JIT_HOME
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'jit')
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'jit')
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'jit')
  return join(home, '.config', 'jit')
}

const configPath = () => join(configDir(), 'config.json')

function readConfig(): ConfigFile {
  try {
    const parsed = JSON.parse(readFileSync(configPath(), 'utf8')) as ConfigFile
    return { profiles: parsed.profiles ?? {} }
  } catch {
    return { profiles: {} }
  }
}

export function readProfile(name: string): Profile {
  return readConfig().profiles[name] ?? {}
}

/** Writes atomically (temp file + rename) so a crash never leaves half a config. */
export function writeProfile(name: string, profile: Profile | undefined): void {
  const config = readConfig()
  if (profile) config.profiles[name] = profile
  else delete config.profiles[name]
  writePrivateFile(configPath(), `${JSON.stringify(config, null, 2)}\n`)
}
