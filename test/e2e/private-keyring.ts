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
/** The bus settings of test keychains: no service activation (the file says why). */
const BUS_CONFIG = join(import.meta.dirname, '../../scripts/test-bus.conf')
const READY_WITHIN_MS = 30_000

export async function startPrivateKeyring(): Promise<PrivateKeyring> {
  const home = mkdtempSync(join(tmpdir(), 'jit-keyring-'))
  // The bus, too, runs with this keychain's folders, never with those of the run's shared one.
  const own = { XDG_DATA_HOME: home, XDG_RUNTIME_DIR: home }
  const bus = spawn('dbus-daemon', [`--config-file=${BUS_CONFIG}`, '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...own } })
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
  const daemonEnv = { ...process.env, ...env, ...own }
  // The daemon forks itself and returns before it serves the keychain (waitUntilUnlocked); it leaves with the bus.
  const keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets'], { stdio: ['pipe', 'ignore', 'ignore'], env: daemonEnv })
  keyring.stdin!.end(PASSWORD)
  const code = await new Promise<number | null>((resolve) => keyring.once('exit', resolve))
  if (code !== 0) throw new Error(`gnome-keyring-daemon failed (${code})`)
  waitUntilUnlocked(daemonEnv)
  return {
    env,
    lock() {
      if (gdbus(daemonEnv, 'org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', "['/org/freedesktop/secrets/collection/login']") === undefined) {
        throw new Error('could not lock the private keyring')
      }
    },
    unlock() {
      const replaced = secretServiceOwner(daemonEnv)
      execFileSync('gnome-keyring-daemon', ['--replace', '--unlock', '--components=secrets'], { env: daemonEnv, input: PASSWORD, stdio: ['pipe', 'ignore', 'ignore'] })
      waitUntilUnlocked(daemonEnv, replaced)
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

/**
 * Until a daemon other than `replaced` serves the login collection unlocked: a started or
 * replacing gnome-keyring-daemon returns before it unlocks the collection and takes the Secret
 * Service's name (and the replaced one may still answer), and a call in between finds no
 * keychain at all. Synchronous, as unlock() is.
 */
function waitUntilUnlocked(env: NodeJS.ProcessEnv, replaced?: string): void {
  const deadline = Date.now() + READY_WITHIN_MS
  for (;;) {
    const owner = secretServiceOwner(env)
    if (owner !== undefined && owner !== replaced) {
      const locked = gdbus(env, 'org.freedesktop.secrets', '/org/freedesktop/secrets/collection/login', 'org.freedesktop.DBus.Properties.Get', 'org.freedesktop.Secret.Collection', 'Locked')
      if (locked?.includes('false')) return
    }
    if (Date.now() > deadline) throw new Error(`the private keyring did not serve an unlocked keychain within ${READY_WITHIN_MS / 1000} s`)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50)
  }
}

/** The bus's unique name of the process that holds the Secret Service's name, if one does. */
function secretServiceOwner(env: NodeJS.ProcessEnv): string | undefined {
  const reply = gdbus(env, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetNameOwner', 'org.freedesktop.secrets')
  return reply === undefined ? undefined : /'([^']+)'/.exec(reply)?.[1]
}

/** One method call with gdbus; undefined when it fails (no such name on the bus, for one). */
function gdbus(env: NodeJS.ProcessEnv, dest: string, objectPath: string, method: string, ...args: string[]): string | undefined {
  try {
    return execFileSync('gdbus', ['call', '--session', '--dest', dest, '--object-path', objectPath, '--method', method, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return undefined
  }
}
