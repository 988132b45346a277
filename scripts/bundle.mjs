// Bundles the CLI for start-up time (see docs/PERFORMANCE.md): our code, oclif, undici, chalk and
// cli-table3 in a few files instead of hundreds, so `jit sessions` reads and compiles a handful
// of files. One entry per command keeps oclif's file-per-command loading; shared code is split
// into chunks. Packages only some commands need stay external and load from node_modules.
import { readdirSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { buildInfo } from './build-info.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = (await import(join(root, 'package.json'), { with: { type: 'json' } })).default

// On the cold path of every command: bundled.
const BUNDLED = new Set(['@oclif/core', 'undici', 'chalk', 'cli-table3'])
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter((name) => !BUNDLED.has(name))

// Node's built-ins through require() rather than import: an ESM import of a built-in copies
// every export up front, which runs its lazy getters (node:util's TextDecoder, node:http's
// WebSocket, ...); require() leaves them until used.
const builtins = new Set(builtinModules)
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z0-9_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '')
      // (The virtual module's own require() is left to Node.)
      if (args.namespace === 'builtin' || (!builtins.has(name) && !builtins.has(`node:${name}`))) return undefined
      return { path: `node:${name}`, namespace: 'builtin' }
    })
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js' }))
  },
}

function tsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return tsFiles(path)
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : []
  })
}

// The fast path of `jit sessions` (src/cli/sessions-fast-path.ts) is one file of its own, not
// chunks shared with the commands: it needs about forty of them, and each module Node loads costs
// it a resolve, a read and a link. main.js imports that file as it is.
const FAST_PATH = './sessions-fast-path.js'
const fastPathApart = {
  name: 'fast-path-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/sessions-fast-path\.js$/ }, (args) => (args.importer.endsWith(join('src', 'cli', 'main.ts')) ? { path: FAST_PATH, external: true } : undefined))
  },
}

const common = {
  absWorkingDir: root,
  outdir: 'dist/bundle',
  outbase: '.',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  external,
  // Bundled CommonJS packages (oclif, undici) require Node's built-ins.
  banner: { js: "import { createRequire as __jitCreateRequire } from 'node:module'; const require = __jitCreateRequire(import.meta.url);" },
  // `jit --version` and `jit version` without reading package.json or asking git at run time.
  define: { __JIT_BUILD__: JSON.stringify(buildInfo(root)) },
  logLevel: 'warning',
}

await build({
  ...common,
  entryPoints: ['src/cli/main.ts', 'src/cli/hooks/command-not-found.ts', ...tsFiles(join(root, 'commands')).map((f) => relative(root, f))],
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [builtinsByRequire, fastPathApart],
})

await build({
  ...common,
  entryPoints: ['src/cli/sessions-fast-path.ts'],
  splitting: false,
  plugins: [builtinsByRequire],
})
