// The fast path of `jit sessions` reads the command line itself: whenever it takes one, the
// options must be what oclif's parser makes of the same line and environment for JitCommand's
// flags; anything it is not sure of is left to oclif (undefined).
import { Parser } from '@oclif/core'
import { describe, expect, it } from 'vitest'
import { JitCommand } from '../../../src/cli/base-command.js'
import { GLOBAL_FLAGS } from '../../../src/cli/global-flags.js'
import { plainSessionsOptions } from '../../../src/cli/sessions-fast-path.js'

// Every global flag's twin, from the table both parsers read.
const ENV_NAMES = Object.values(GLOBAL_FLAGS).map((flag) => flag.env)

async function oclifOptions(args: string[], env: Record<string, string>) {
  const saved = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]))
  for (const name of ENV_NAMES) delete process.env[name]
  Object.assign(process.env, env)
  try {
    const { flags } = await Parser.parse(args, { flags: JitCommand.baseFlags, strict: true })
    return { profile: flags.profile, broker: flags.broker, caFile: flags['ca-file'], insecure: flags.insecure || undefined }
  } finally {
    for (const name of ENV_NAMES) {
      if (saved[name] === undefined) delete process.env[name]
      else process.env[name] = saved[name]
    }
  }
}

const taken: [string[], Record<string, string>][] = [
  [[], {}],
  [['--profile', 'plant-b'], {}],
  [['--profile=plant-b', '--insecure'], {}],
  [['--broker', 'https://broker.example:8443', '--ca-file', '/etc/jit/ca.pem'], {}],
  [['--no-prompt'], { JIT_PROFILE: 'night', JIT_BROKER: 'http://127.0.0.1:1' }],
  [[], { JIT_INSECURE: 'yes', JIT_CA_FILE: 'ca.pem' }],
  [[], { JIT_INSECURE: 'TRUE' }],
  [[], { JIT_INSECURE: '0' }],
  [[], { JIT_INSECURE: 'no' }],
  [[], { JIT_PROFILE: '' }],
  [['--profile', 'cli-wins'], { JIT_PROFILE: 'env-loses' }],
]

describe('plainSessionsOptions', () => {
  it.each(taken)('takes %j with env %j, as oclif parses it', async (args, env) => {
    const mine = plainSessionsOptions(args, env)
    expect(mine).toBeDefined()
    expect(mine).toEqual(await oclifOptions(args, env))
  })

  it.each([
    [['--json'], {}],
    [['show', 'ses_1'], {}],
    [['--help'], {}],
    [['-h'], {}],
    [['--profile'], {}],
    [['--profile', '--json'], {}],
    [['--profile='], {}],
    [['--profile', 'a', '--profile', 'b'], {}],
    [['--insecure=false'], {}],
    [['--no-insecure'], {}],
    [['--prof', 'a'], {}],
    [['--'], {}],
    [['pickup'], {}],
    // The plant's live sessions (security, owners) come from the broker's listing, not the cache.
    [['--all'], {}],
    [['--asset', 'plant-a/**'], {}],
    [['--profile', 'a', '--all'], {}],
    [[], { JIT_CONTENT_TYPE: 'json' }],
    [[], { DEBUG: '*' }],
  ] as [string[], Record<string, string>][])('leaves %j with env %j to oclif', (args, env) => {
    expect(plainSessionsOptions(args, env)).toBeUndefined()
  })
})
