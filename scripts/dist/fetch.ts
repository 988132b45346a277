// Fetches a package's tarball (npm pack: the registry's own integrity check, no install
// scripts run) and unpacks it into a cache folder, once. Node's per-platform binaries and the
// keychain binding's per-platform packages come this way: build inputs, not dependencies.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Fetched {
  name: string
  version: string
  /** The unpacked package folder. */
  dir: string
  /** The registry's integrity string for the tarball (for the SBOM). */
  integrity: string
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

export function fetchPackage(cache: string, name: string, version: string): Fetched {
  const home = join(cache, `${name.replace('/', '+')}@${version}`)
  const dir = join(home, 'package')
  const meta = join(home, 'fetched.json')
  if (existsSync(meta) && existsSync(dir)) return JSON.parse(readFileSync(meta, 'utf8')) as Fetched
  const work = `${home}.partial`
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  process.stderr.write(`dist: fetching ${name}@${version}\n`)
  const packed = JSON.parse(
    execFileSync(npm, ['pack', `${name}@${version}`, '--json', '--pack-destination', work], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], shell: process.platform === 'win32' }),
  ) as { filename: string; integrity: string; version: string }[]
  execFileSync('tar', ['xzf', join(work, packed[0].filename), '-C', work], { stdio: 'inherit' })
  rmSync(join(work, packed[0].filename))
  const fetched: Fetched = { name, version: packed[0].version, dir, integrity: packed[0].integrity }
  writeFileSync(join(work, 'fetched.json'), JSON.stringify({ ...fetched, dir }))
  rmSync(home, { recursive: true, force: true })
  renameSync(work, home)
  return fetched
}
