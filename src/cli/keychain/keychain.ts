// The OS keychain behind a small interface. The system implementation uses keytar (macOS
// Keychain, Windows Credential Manager, Secret Service on Linux), loaded lazily, with a timeout
// on every native call so a locked keyring cannot hang the CLI. Failures are KeychainErrors
// (exit 6); nothing ever falls back to a file.
import { KeychainError } from '../../errors.js'

export interface Keychain {
  /** Throws a KeychainError when no keychain answers; reads one account, enumerates nothing. */
  probe(): Promise<void>
  get(account: string): Promise<string | null>
  set(account: string, secret: string): Promise<void>
  delete(account: string): Promise<boolean>
  /** Accounts (and secrets) whose name starts with prefix. */
  list(prefix: string): Promise<{ account: string; secret: string }[]>
}

export const SERVICE = 'jit'
const CALL_TIMEOUT_MS = 5000

const HOW_TO_FIX = [
  'Linux: install and unlock a Secret Service keyring (gnome-keyring or KeePassXC) in your desktop session;',
  'on a headless box run inside one: dbus-run-session -- sh -c \'echo -n PASS | gnome-keyring-daemon --unlock --components=secrets; jit ...\'',
  'jit exec and jit shell also run without caching: add --no-cache.',
]

interface Keytar {
  getPassword(service: string, account: string): Promise<string | null>
  setPassword(service: string, account: string, password: string): Promise<void>
  deletePassword(service: string, account: string): Promise<boolean>
  findCredentials(service: string): Promise<{ account: string; password: string }[]>
}

export class SystemKeychain implements Keychain {
  #keytar?: Promise<Keytar>

  async #lib(): Promise<Keytar> {
    // An optional dependency: the specifier is a variable so the build never needs it present.
    const moduleName = 'keytar'
    this.#keytar ??= import(moduleName).then(
      (mod) => ((mod as { default?: Keytar }).default ?? (mod as unknown as Keytar)),
      () => {
        throw new KeychainError('The keychain module (keytar) is not installed or was not built on this machine.', [
          'Install the Secret Service headers, then reinstall so keytar builds: sudo apt-get install libsecret-1-dev && npm ci',
          ...HOW_TO_FIX.slice(2),
        ])
      },
    )
    return this.#keytar
  }

  async #call<T>(what: string, fn: (keytar: Keytar) => Promise<T>): Promise<T> {
    const keytar = await this.#lib()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KeychainError(`The OS keychain did not answer within ${CALL_TIMEOUT_MS / 1000}s (${what}); it may be locked.`, HOW_TO_FIX)), CALL_TIMEOUT_MS)
      timer.unref()
    })
    try {
      return await Promise.race([fn(keytar), timeout])
    } catch (error) {
      if (error instanceof KeychainError) throw error
      // keytar's native errors describe the keyring, never the secret.
      throw new KeychainError(`The OS keychain is unavailable (${what}): ${(error as Error).message}`, HOW_TO_FIX)
    } finally {
      clearTimeout(timer)
    }
  }

  async probe() {
    await this.#call('read', (k) => k.getPassword(SERVICE, 'probe'))
  }

  get(account: string) {
    return this.#call('read', (k) => k.getPassword(SERVICE, account))
  }

  set(account: string, secret: string) {
    return this.#call('write', (k) => k.setPassword(SERVICE, account, secret))
  }

  delete(account: string) {
    return this.#call('delete', (k) => k.deletePassword(SERVICE, account))
  }

  async list(prefix: string) {
    const all = await this.#call('list', (k) => k.findCredentials(SERVICE))
    return all.filter((c) => c.account.startsWith(prefix)).map((c) => ({ account: c.account, secret: c.password }))
  }
}

/** Holds secrets for the life of one process only: unit tests, and a demo on a machine without a keychain. */
export class MemoryKeychain implements Keychain {
  readonly #entries = new Map<string, string>()

  async probe() {}

  async get(account: string) {
    return this.#entries.get(account) ?? null
  }

  async set(account: string, secret: string) {
    this.#entries.set(account, secret)
  }

  async delete(account: string) {
    return this.#entries.delete(account)
  }

  async list(prefix: string) {
    return [...this.#entries].filter(([account]) => account.startsWith(prefix)).map(([account, secret]) => ({ account, secret }))
  }
}
