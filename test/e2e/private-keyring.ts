// A Secret Service keychain of a test's own: a private D-Bus session bus and an unlocked
// gnome-keyring on it, both owned by the test, so that it can take the keychain away mid-session
// (stop the bus) without touching the keychain other tests use. Node built-ins only: the
// revocation benchmark uses it too.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PrivateKeyring {
  /** Environment for a process that should use this keychain. */
  env: { DBUS_SESSION_BUS_ADDRESS: string; XDG_DATA_HOME: string }
  /** Locks the login collection, as a screen lock or a keyring timeout does (Secret Service Lock over D-Bus). */
  lock(): void
  /** Unlocks it again with its password, as logging in does (a keyring daemon started with --unlock replaces the running one). */
  unlock(): void
  /** Takes the keychain away: the bus and the keyring daemon stop. */
  stop(): Promise<void>
}

const PASSWORD = 'jit-test'

export async function startPrivateKeyring(): Promise<PrivateKeyring> {
  const home = mkdtempSync(join(tmpdir(), 'jit-keyring-'))
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const address = await new Promise<string>((resolve, reject) => {
    let out = ''
    bus.stdout!.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out.split('\n')[0].trim())
    })
    bus.once('error', reject)
    bus.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}`)))
  })
  const env = { DBUS_SESSION_BUS_ADDRESS: address, XDG_DATA_HOME: home }
  // The daemon forks itself and returns once it serves the bus, unlocked; it leaves with the bus.
  const keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets'], {
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { ...process.env, ...env, XDG_RUNTIME_DIR: home },
  })
  keyring.stdin!.end(PASSWORD)
  const code = await new Promise<number | null>((resolve) => keyring.once('exit', resolve))
  if (code !== 0) throw new Error(`gnome-keyring-daemon failed (${code})`)
  const daemonEnv = { ...process.env, ...env, XDG_RUNTIME_DIR: home }
  return {
    env,
    lock() {
      execFileSync('gdbus', ['call', '--session', '--dest', 'org.freedesktop.secrets', '--object-path', '/org/freedesktop/secrets',
        '--method', 'org.freedesktop.Secret.Service.Lock', "['/org/freedesktop/secrets/collection/login']"], { env: daemonEnv, stdio: 'ignore' })
    },
    unlock() {
      execFileSync('gnome-keyring-daemon', ['--replace', '--unlock', '--components=secrets'], { env: daemonEnv, input: PASSWORD, stdio: ['pipe', 'ignore', 'ignore'] })
    },
    async stop() {
      if (bus.exitCode === null && bus.signalCode === null) {
        bus.kill('SIGTERM')
        await new Promise<void>((resolve) => bus.once('exit', () => resolve()))
      }
      rmSync(home, { recursive: true, force: true })
    },
  }
}
