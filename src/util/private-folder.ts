// A folder only its owner can enter, on every platform. On Linux and macOS that is mode 0700
// (and 0600 for the files jit writes in it). Windows ignores modes (they only set read-only), so
// there a folder jit creates gets an ACL of its own: inheritance from the parent cut off, full
// control for this user, SYSTEM and Administrators only, inherited by everything made inside.
// icacls is part of Windows.
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { userInfo } from 'node:os'

/** icacls arguments that leave `dir` to `user`, SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544). */
export function ownerOnlyAcl(dir: string, user: string): string[] {
  return [dir, '/inheritance:r', '/grant:r', `${user}:(OI)(CI)F`, '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F', '/Q']
}

function windowsUser(): string {
  const name = userInfo().username
  return process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\${name}` : name
}

/** Creates `dir` (and its parents) private to this user; a folder that already exists is left as it is. */
export function makePrivateFolder(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (created === undefined || process.platform !== 'win32') return
  try {
    // child_process is loaded here, on Windows only: elsewhere it would be one more built-in that
    // every jit start-up (jit sessions among them) loads for nothing.
    const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')
    execFileSync('icacls', ownerOnlyAcl(dir, windowsUser()), { stdio: 'ignore', windowsHide: true })
  } catch (error) {
    // Fail closed: a key must not land in a folder that other users can read.
    throw new Error(`Cannot make ${dir} private to ${windowsUser()} (icacls: ${(error as Error).message}).`)
  }
}
