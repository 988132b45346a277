// Which Node version each executable is built from: the project's own (the `node` devDependency
// as installed), unless the registry has no build of it for a platform; then the newest of the
// same major that it has, said out loud and recorded in the SBOM and in `jit version`.
import { execFileSync } from 'node:child_process'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function publishedVersions(name: string): string[] {
  const out = execFileSync(npm, ['view', name, 'versions', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], shell: process.platform === 'win32' })
  const parsed = JSON.parse(out) as string | string[]
  return Array.isArray(parsed) ? parsed : [parsed]
}

function compare(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)]
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
}

export interface NodeChoice {
  version: string
  /** Why it is not the version asked for, if it is not. */
  fallback?: string
}

export function chooseNodeVersion(nodePackage: string, wanted: string): NodeChoice {
  const versions = publishedVersions(nodePackage)
  if (versions.includes(wanted)) return { version: wanted }
  const major = wanted.split('.')[0]
  const sameMajor = versions.filter((v) => /^\d+\.\d+\.\d+$/.test(v) && v.split('.')[0] === major).sort(compare)
  const newest = sameMajor.at(-1)
  if (!newest) throw new Error(`The registry has no ${nodePackage} of Node ${major} (wanted ${wanted}).`)
  return { version: newest, fallback: `the registry has no ${nodePackage}@${wanted}; using ${newest}, the newest Node ${major} it has for this platform` }
}
