// npm run dist [-- --target ID ...] [--bundle] [--out DIR] [--node-version V] [--keyring-file ID=PATH ...]
// Builds the single executables (all targets unless --target names some) into release/.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { dist } from './build.ts'
import { TARGETS, targetById } from './targets.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const { values } = parseArgs({
  options: {
    target: { type: 'string', multiple: true },
    bundle: { type: 'boolean', default: false },
    out: { type: 'string', default: join(root, 'release') },
    cache: { type: 'string', default: process.env.JIT_DIST_CACHE ?? join(root, '.cache', 'dist') },
    'node-version': { type: 'string' },
    'keyring-file': { type: 'string', multiple: true },
  },
})
// The Node the project pins (the `node` devDependency), unless told otherwise.
const pinned = (JSON.parse(readFileSync(join(root, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string }).version
const targets = values.target ? values.target.flatMap((t) => t.split(',')).map(targetById) : TARGETS
// ID=PATH: embed this keychain binding file for target ID (one signed for macOS, say).
const keyringFiles = Object.fromEntries((values['keyring-file'] ?? []).map((pair) => {
  const at = pair.indexOf('=')
  if (at < 0) throw new Error(`--keyring-file wants TARGET=PATH, not "${pair}"`)
  return [targetById(pair.slice(0, at)).id, pair.slice(at + 1)]
}))
const result = await dist({ root, targets, outDir: values.out, cacheDir: values.cache, nodeVersion: values['node-version'] ?? pinned, bundle: values.bundle, keyringFiles })
for (const b of result.built) process.stdout.write(`${b.file}  ${(b.bytes / 1024 / 1024).toFixed(1)} MiB  node ${b.node}  sha256 ${b.sha256}\n`)
if (result.archive) process.stdout.write(`${result.archive}\n`)
