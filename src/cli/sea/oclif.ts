// oclif inside the single executable. oclif finds commands and hooks as files under a package
// root; the executable has no files, so its commands are handed over already loaded (the build
// generates `jit:sea-commands` from commands/ and the autocomplete plugin's commands), through
// oclif's "explicit" command discovery with the command table in place before the plugin loads.
// The one hook jit has, command_not_found, is answered here for the same reason.
import { Config, execute, Plugin, type Command, type Hook, type Interfaces } from '@oclif/core'
import { dirname, join } from 'node:path'
import { SEA_COMMANDS, SEA_PLUGIN_COMMANDS, SEA_PLUGIN_PJSON } from 'jit:sea-commands'
import commandNotFound from '../hooks/command-not-found.js'
import pkg from '../../../package.json' with { type: 'json' }

type CommandTable = Record<string, Command.Class>

/** A plugin whose commands are `table`, whose package.json is `pjson`, and which reads no file. */
async function inMemoryPlugin(root: string, pjson: Interfaces.PJSON, table: CommandTable): Promise<Plugin> {
  const oclif = { ...pjson.oclif, commands: { strategy: 'explicit' as const, target: 'in-memory', identifier: 'COMMANDS' }, hooks: {}, plugins: [], devPlugins: [] }
  const plugin = new Plugin({ root, isRoot: true, pjson: { ...pjson, oclif } as Interfaces.PJSON, ignoreManifest: true })
  // Read by loadCommandsFromTarget before it would look for the target file.
  ;(plugin as unknown as { commandCache: CommandTable }).commandCache = table
  await plugin.load()
  return plugin
}

let hookAnswered = false
/** command_not_found without a hook file: the same hook function, called as oclif would call it. */
function answerCommandNotFound(): void {
  if (hookAnswered) return
  hookAnswered = true
  const runHook = Config.prototype.runHook
  Config.prototype.runHook = async function (this: Config, event: string, opts: object, ...rest: unknown[]) {
    if (event !== 'command_not_found') return (runHook as (...args: unknown[]) => Promise<Hook.Result<unknown>>).call(this, event, opts, ...rest)
    try {
      const result = await (commandNotFound as (this: unknown, options: object) => Promise<unknown>).call({ config: this }, { ...opts, config: this })
      return { successes: [{ plugin: this.plugins.get(pkg.name)!, result }], failures: [] }
    } catch (error) {
      return { successes: [], failures: [{ plugin: this.plugins.get(pkg.name)!, error: error as Error }] }
    }
  } as typeof runHook
}

export async function runOclif(argv: string[], _entry: string): Promise<void> {
  answerCommandNotFound()
  const root = dirname(process.execPath)
  const jit = await inMemoryPlugin(root, pkg as unknown as Interfaces.PJSON, SEA_COMMANDS)
  const autocomplete = await inMemoryPlugin(join(root, '@oclif', 'plugin-autocomplete'), SEA_PLUGIN_PJSON as Interfaces.PJSON, SEA_PLUGIN_COMMANDS)
  autocomplete.isRoot = false
  autocomplete.type = 'core'
  await execute({ args: argv, loadOptions: { root, plugins: new Map([[jit.name, jit], [autocomplete.name, autocomplete]]) } })
}
