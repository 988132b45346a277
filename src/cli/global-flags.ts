// The global flags every command takes, with their JIT_* twins: one table, read by the oclif base
// command (src/cli/base-command.ts builds its flags from it) and by the `jit sessions` fast path
// (src/cli/sessions-fast-path.ts parses a plain command line with it, without loading oclif). Plain
// data and two small functions: nothing here may load oclif.
import type { GlobalOptions } from './context.js'

interface GlobalFlag {
  type: 'string' | 'boolean'
  env: string
  summary: string
  default?: string
  /** Where the value goes in GlobalOptions; none for flags that only the commands read. */
  option?: keyof GlobalOptions
}

export const GLOBAL_FLAGS = {
  profile: { type: 'string', env: 'JIT_PROFILE', default: 'default', option: 'profile', summary: 'Named profile (broker and device) to use.' },
  broker: { type: 'string', env: 'JIT_BROKER', option: 'broker', summary: 'Broker URL, or several brokers of one plant separated by commas (tried in order); overrides the profile.' },
  'ca-file': { type: 'string', env: 'JIT_CA_FILE', option: 'caFile', summary: 'PEM file of the CA that signed the broker certificate.' },
  insecure: { type: 'boolean', env: 'JIT_INSECURE', option: 'insecure', summary: 'Allow plain HTTP to a broker that is not on loopback.' },
  'no-prompt': { type: 'boolean', env: 'JIT_NO_PROMPT', summary: 'Never prompt; fail with the flag to pass instead.' },
} as const satisfies Record<string, GlobalFlag>

export type GlobalFlagName = keyof typeof GLOBAL_FLAGS

/** A boolean flag's environment variable, read as oclif reads it. */
export const envTruthy = (value: string): boolean => ['1', 'true', 'y', 'yes'].includes(value.toLowerCase())

/** The options a command's CliContext runs with, from the global flags' values (given or from their twins). */
export function globalOptions(values: Partial<Record<GlobalFlagName, string | boolean | undefined>>): GlobalOptions {
  const options: Record<string, string | boolean | undefined> = {}
  for (const [name, flag] of Object.entries(GLOBAL_FLAGS) as [GlobalFlagName, GlobalFlag][]) {
    if (!flag.option) continue
    const value = values[name] ?? flag.default
    // A boolean that is off is left out, as it always was.
    options[flag.option] = value === false ? undefined : value
  }
  return options as unknown as GlobalOptions
}
