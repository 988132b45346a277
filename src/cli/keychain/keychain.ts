// The OS keychain behind a small interface. The system implementation uses @napi-rs/keyring (macOS
// Keychain, Windows Credential Manager, Secret Service on Linux), loaded lazily, with a timeout
// on every native call so a locked keyring cannot hang the CLI. Failures are KeychainErrors
// (exit 6); nothing ever falls back to a file.
import { KeychainError } from '../../errors.js'

// Nothing here enumerates the keychain: a listing races with other processes adding and deleting
// items (and crashed the old binding). What is cached is known from the session index instead.
export interface Keychain {
  /** Throws a KeychainError unless the keychain can store: writes, reads back and deletes a probe item. */
  probe(): Promise<void>
  get(account: string): Promise<string | null>
  set(account: string, secret: string): Promise<void>
  delete(account: string): Promise<boolean>
}

export const SERVICE = 'jit'
const CALL_TIMEOUT_MS = 5000

const HOW_TO_FIX = [
  'Linux: install and unlock a Secret Service keyring (gnome-keyring or KeePassXC) in your desktop session;',
  'on a headless box run inside one: dbus-run-session -- sh -c \'echo -n PASS | gnome-keyring-daemon --unlock --components=secrets; jit ...\'',
  'jit exec and jit shell also run without caching: add --no-cache.',
]

/** How to unlock, per platform: the keychain is there but locked (screen lock, timeout, fresh login). */
export const HOW_TO_UNLOCK = [
  'Linux (gnome-keyring): unlock the "login" keyring in Passwords and Keys (seahorse), or from a shell: echo -n PASS | gnome-keyring-daemon --replace --unlock --components=secrets',
  'macOS: security unlock-keychain ~/Library/Keychains/login.keychain-db',
  'Windows: the Credential Manager opens with your Windows sign-in; sign in as this user (not over a runas/service account).',
  'Then run the command again. jit never falls back to a file.',
]

// Secret Service: "unlock prompt was dismissed"; macOS: "User interaction is not allowed" (errSecInteractionNotAllowed).
const LOCKED = /\block|unlock|prompt|interaction is not allowed/i

/** One KeychainError per way the keychain can fail: locked (how to unlock) or not answering (how to get one). */
export function keychainFailure(what: string, message: string): KeychainError {
  if (LOCKED.test(message)) return new KeychainError(`The OS keychain is locked (${what}): ${message}`, HOW_TO_UNLOCK, { keychain: 'locked' })
  return new KeychainError(`The OS keychain is unavailable (${what}): ${message}`, HOW_TO_FIX, { keychain: 'unavailable' })
}

type Keyring = typeof import('@napi-rs/keyring')

// On Linux the binding would fall back to the kernel's keyutils store when no Secret Service
// answers: a per-login-session store that is not the user's keychain. Pin the Secret Service so
// a missing or locked keyring is reported (exit 6) instead of quietly using another store.
const ENTRY_OPTIONS = { linux: { store: 'secret-service' as const } }

export class SystemKeychain implements Keychain {
  #keyring?: Promise<Keyring>

  async #lib(): Promise<Keyring> {
    // A regular dependency with prebuilt binaries from the npm registry; loaded only by the
    // commands that touch the keychain.
    this.#keyring ??= import('@napi-rs/keyring').catch((error: unknown) => {
      // The single executable's loader refuses an altered binding in words of its own.
      if (error instanceof KeychainError) throw error
      throw new KeychainError('The keychain module (@napi-rs/keyring) is missing or has no binary for this platform.', [
        'Reinstall jit from the package registry (npm ci); the binding ships prebuilt for Linux, macOS and Windows.',
        ...HOW_TO_FIX.slice(2),
      ])
    })
    return this.#keyring
  }

  async #call<T>(what: string, fn: (keyring: Keyring, signal: AbortSignal) => Promise<T>): Promise<T> {
    const keyring = await this.#lib()
    const abort = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort()
        reject(new KeychainError(`The OS keychain did not answer within ${CALL_TIMEOUT_MS / 1000}s (${what}); it may be locked.`, [...HOW_TO_UNLOCK.slice(0, 3), ...HOW_TO_FIX]))
      }, CALL_TIMEOUT_MS)
      timer.unref()
    })
    try {
      return await Promise.race([fn(keyring, abort.signal), timeout])
    } catch (error) {
      if (error instanceof KeychainError) throw error
      // The binding's errors describe the keyring, never the secret.
      throw keychainFailure(what, (error as Error).message)
    } finally {
      clearTimeout(timer)
    }
  }

  async probe() {
    await probeByRoundTrip(this)
  }

  get(account: string) {
    return this.#call('read', (k, signal) => new k.AsyncEntry(SERVICE, account, ENTRY_OPTIONS).getPassword(signal))
  }

  set(account: string, secret: string) {
    return this.#call('write', (k, signal) => new k.AsyncEntry(SERVICE, account, ENTRY_OPTIONS).setPassword(secret, signal))
  }

  delete(account: string) {
    return this.#call('delete', (k, signal) => new k.AsyncEntry(SERVICE, account, ENTRY_OPTIONS).deletePassword(signal))
  }
}

/**
 * A locked Secret Service answers a read of an absent item with "nothing there", so a read alone
 * proves nothing; storing proves the keychain is usable: write, read back and delete a probe item.
 */
async function probeByRoundTrip(keychain: Keychain): Promise<void> {
  const account = `probe:${process.pid}:${Date.now()}`
  const value = 'jit keychain probe'
  await keychain.set(account, value)
  const back = await keychain.get(account)
  await keychain.delete(account)
  if (back !== value) throw new KeychainError('The OS keychain accepted an item but did not give it back.', HOW_TO_FIX, { keychain: 'unavailable' })
}

/** Holds secrets for the life of one process only: unit tests, and a demo on a machine without a keychain. */
export class MemoryKeychain implements Keychain {
  readonly #entries = new Map<string, string>()

  async probe() {
    await probeByRoundTrip(this)
  }

  async get(account: string) {
    return this.#entries.get(account) ?? null
  }

  async set(account: string, secret: string) {
    this.#entries.set(account, secret)
  }

  async delete(account: string) {
    return this.#entries.delete(account)
  }

  /** What it holds, for tests. */
  accounts(): string[] {
    return [...this.#entries.keys()]
  }
}
