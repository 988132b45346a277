// Bundles jit into one CommonJS file for a single executable: Node runs an SEA's main script as
// CommonJS whose require() reaches only Node's built-ins, so every package goes inside, oclif
// is handed its commands (src/cli/sea/oclif.ts), and the keychain binding's loader is replaced
// by one that loads the native file embedded next to the script, after checking its hash.
import { readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { build, type Plugin } from 'esbuild'
// @ts-expect-error: a plain JavaScript module of the build
import { buildInfo } from '../build-info.mjs'
import { WORKER_MODULES } from '../../src/util/worker-modules.ts'

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path, ext)
    return name.endsWith(ext) && !name.endsWith(`.d${ext}`) ? [path] : []
  })
}

/** oclif's command id of a command file: its path under the commands folder, `index` naming the folder. */
function commandId(dir: string, file: string): string {
  const parts = relative(dir, file).replace(/\.[jt]s$/, '').split(sep)
  if (parts.at(-1) === 'index') parts.pop()
  return parts.join(':')
}

/** `jit:sea-commands`: every command of commands/ and of the autocomplete plugin, imported. */
function commandTable(root: string): Plugin {
  const autocompleteDir = join(root, 'node_modules', '@oclif', 'plugin-autocomplete')
  const table = (dir: string, ext: string, name: string) => {
    const entries = files(dir, ext).sort().map((file, i) => ({ id: commandId(dir, file), file, as: `${name}${i}` }))
    return {
      imports: entries.map((e) => `import ${e.as} from ${JSON.stringify(e.file)}`),
      object: `export const ${name} = {${entries.map((e) => `${JSON.stringify(e.id)}: ${e.as}`).join(', ')}}`,
    }
  }
  return {
    name: 'sea-commands',
    setup(b) {
      b.onResolve({ filter: /^jit:sea-commands$/ }, () => ({ path: 'jit:sea-commands', namespace: 'sea-commands' }))
      b.onLoad({ filter: /.*/, namespace: 'sea-commands' }, () => {
        const jit = table(join(root, 'commands'), '.ts', 'SEA_COMMANDS')
        const plugin = table(join(autocompleteDir, 'lib', 'commands'), '.js', 'SEA_PLUGIN_COMMANDS')
        return {
          contents: [...jit.imports, ...plugin.imports, jit.object, plugin.object, `export { default as SEA_PLUGIN_PJSON } from ${JSON.stringify(join(autocompleteDir, 'package.json'))}`].join('\n'),
          resolveDir: root,
          loader: 'ts',
        }
      })
    },
  }
}

/** The keychain binding: the embedded native file, checked against `sha256` and then loaded. */
function embeddedKeyring(root: string, sha256: string): Plugin {
  return {
    name: 'embedded-keyring',
    setup(b) {
      b.onResolve({ filter: /^@napi-rs\/keyring$/ }, () => ({ path: 'keyring', namespace: 'embedded-keyring' }))
      b.onLoad({ filter: /.*/, namespace: 'embedded-keyring' }, () => ({
        contents: `module.exports = require(${JSON.stringify(join(root, 'src', 'cli', 'sea', 'embedded-addon.ts'))}).loadEmbeddedKeyring(${JSON.stringify(sha256)})`,
        resolveDir: root,
        loader: 'js',
      }))
    },
  }
}

/** main.ts loads oclif through ./oclif.js; here that is the in-memory one. */
function inMemoryOclif(root: string): Plugin {
  return {
    name: 'in-memory-oclif',
    setup(b) {
      b.onResolve({ filter: /^\.\/oclif\.js$/ }, (args) =>
        dirname(args.importer) === join(root, 'src', 'cli') ? { path: join(root, 'src', 'cli', 'sea', 'oclif.ts') } : undefined,
      )
    },
  }
}

export interface SeaBundle {
  main: string
  /** Asset name → file, for the SEA configuration. */
  workers: Record<string, string>
}

/**
 * Writes `outDir/jit.cjs` (and one file per worker module) for a Node of major version
 * `nodeMajor`, with `keyringSha256` as the hash the embedded binding must have.
 */
export async function bundleForSea(root: string, outDir: string, options: { nodeMajor: number; keyringSha256: string }): Promise<SeaBundle> {
  const common = {
    absWorkingDir: root,
    bundle: true,
    format: 'cjs' as const,
    platform: 'node' as const,
    target: `node${options.nodeMajor}`,
    // Optional peers that jit does not use (pg's native driver); their require() fails in a try.
    external: ['pg-native'],
    // Modules read import.meta.url to find files next to them; in the executable that is the executable.
    define: { 'import.meta.url': '__jitExecutableUrl', __JIT_BUILD__: JSON.stringify(buildInfo(root)) },
    banner: { js: 'var __jitExecutableUrl = require("node:url").pathToFileURL(process.execPath).href;' },
    logLevel: 'warning' as const,
    legalComments: 'none' as const,
  }
  const main = join(outDir, 'jit.cjs')
  await build({
    ...common,
    entryPoints: [join(root, 'src', 'cli', 'sea', 'entry.ts')],
    outfile: main,
    plugins: [commandTable(root), embeddedKeyring(root, options.keyringSha256), inMemoryOclif(root)],
  })
  const workers: Record<string, string> = {}
  for (const [name, entry] of Object.entries(WORKER_MODULES)) {
    const outfile = join(outDir, 'worker', `${name}.cjs`)
    await build({ ...common, entryPoints: [join(root, entry)], outfile })
    workers[`worker/${name}.cjs`] = outfile
  }
  return { main, workers }
}
