// A Secret Service keychain of a test's own: a private D-Bus session bus and an unlocked
// gnome-keyring on it, both owned by the test, so that it can take the keychain away mid-session
// (stop the bus) without touching the keychain other tests use. Node built-ins only: the
// revocation benchmark uses it too.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PrivateKeyring {
  /** Environment for a process that should use this keychain. */
  env: { DBUS_SESSION_BUS_ADDRESS: string; XDG_DATA_HOME: string }
  /** Takes the keychain away: the bus and the keyring daemon stop. */
  stop(): Promise<void>
}

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
  keyring.stdin!.end('jit-test')
  const code = await new Promise<number | null>((resolve) => keyring.once('exit', resolve))
  if (code !== 0) throw new Error(`gnome-keyring-daemon failed (${code})`)
  return {
    env,
    async stop() {
      if (bus.exitCode === null && bus.signalCode === null) {
        bus.kill('SIGTERM')
        await new Promise<void>((resolve) => bus.once('exit', () => resolve()))
      }
      rmSync(home, { recursive: true, force: true })
    },
  }
}
