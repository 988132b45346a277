// A CycloneDX 1.5 SBOM for one executable, from the lockfile: every package the CLI ships with
// (the lockfile's non-development packages; of the keychain binding's per-platform packages only
// the one embedded), plus the Node runtime that the executable is.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Fetched } from './fetch.ts'
import type { Target } from './targets.ts'

interface LockEntry {
  name?: string
  version?: string
  integrity?: string
  license?: string
  dev?: boolean
  devOptional?: boolean
  link?: boolean
}

const PER_PLATFORM_KEYRING = /^@napi-rs\/keyring-/

/** `node_modules/a/node_modules/@b/c` → `@b/c`. */
function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
}

function purl(name: string, version: string): string {
  return `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`
}

/** The lockfile's "sha512-BASE64" as CycloneDX's hex. */
function hashes(integrity: string | undefined) {
  const match = integrity?.match(/^sha512-(.+)$/)
  return match ? [{ alg: 'SHA-512', content: Buffer.from(match[1], 'base64').toString('hex') }] : []
}

function component(name: string, version: string, integrity?: string, license?: string) {
  return {
    type: 'library',
    'bom-ref': purl(name, version),
    name,
    version,
    purl: purl(name, version),
    hashes: hashes(integrity),
    ...(license ? { licenses: [{ expression: license }] } : {}),
  }
}

export interface SbomInputs {
  root: string
  target: Target
  version: string
  commit: string
  node: Fetched
  keyring: Fetched
  /** SHA-256 of the executable. */
  sha256: string
}

export function sbom(inputs: SbomInputs): object {
  const lock = JSON.parse(readFileSync(join(inputs.root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  const shipped = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && !entry.dev && !entry.devOptional && !entry.link && entry.version)
    .map(([path, entry]) => ({ name: entry.name ?? nameOf(path), entry }))
    .filter(({ name }) => !PER_PLATFORM_KEYRING.test(name))
  const unique = new Map(shipped.map(({ name, entry }) => [`${name}@${entry.version}`, component(name, entry.version!, entry.integrity, entry.license)]))
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: { components: [{ type: 'application', name: 'jit scripts/dist' }] },
      component: {
        type: 'application',
        'bom-ref': `jit@${inputs.version}`,
        name: inputs.target.executable,
        version: inputs.version,
        description: `jit ${inputs.version} (commit ${inputs.commit}) for ${inputs.target.id}: a Node.js single executable application`,
        hashes: [{ alg: 'SHA-256', content: inputs.sha256 }],
      },
    },
    components: [
      { ...component(inputs.node.name, inputs.node.version, inputs.node.integrity, 'MIT'), type: 'platform', description: 'The Node.js runtime the executable is built from' },
      { ...component(inputs.keyring.name, inputs.keyring.version, inputs.keyring.integrity, 'MIT'), description: 'The keychain binding\'s native file, embedded' },
      ...[...unique.values()].sort((a, b) => a.name.localeCompare(b.name)),
    ],
  }
}
