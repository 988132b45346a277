// Builds a single executable for a test exactly as `npm run dist` does, and gives the helpers
// the tests need around it: a PATH without Node, and the place of the embedded keychain file.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT, tempDir } from './harness.js'

const run = promisify(execFile)

/** Runs scripts/dist/main.ts for one target into a fresh folder; returns the executable's path. */
export async function buildSingleExecutable(target: string, executable: string, extraArgs: string[] = []): Promise<string> {
  const out = tempDir('jit-dist-')
  await run(process.execPath, [join(ROOT, 'scripts', 'dist', 'main.ts'), '--target', target, '--out', out, ...extraArgs], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 })
  return join(out, executable)
}

/** A folder of links to just these programs, for a PATH that surely has no node on it. */
export function pathWithout(programs: string[]): string {
  const dir = tempDir('jit-path-')
  mkdirSync(dir, { recursive: true })
  const system = (process.env.PATH ?? '').split(delimiter)
  for (const program of programs) {
    const found = system.map((d) => join(d, program)).find((p) => existsSync(p))
    if (!found) throw new Error(`${program} is not on the PATH; the single-executable test needs it.`)
    symlinkSync(found, join(dir, program))
  }
  return dir
}

/** The keychain binding's native file for linux-x64, as the build fetched it. */
export function cachedKeyringFile(version: string): string {
  return join(process.env.JIT_DIST_CACHE ?? join(ROOT, '.cache', 'dist'), `@napi-rs+keyring-linux-x64-gnu@${version}`, 'package', 'keyring.linux-x64-gnu.node')
}
