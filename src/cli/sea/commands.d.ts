// The command table the single-executable build generates (scripts/dist/sea-bundle.ts).
declare module 'jit:sea-commands' {
  import type { Command } from '@oclif/core'
  export const SEA_COMMANDS: Record<string, Command.Class>
  export const SEA_PLUGIN_COMMANDS: Record<string, Command.Class>
  /** The autocomplete plugin's package.json. */
  export const SEA_PLUGIN_PJSON: object
}
