// Hands the command line to oclif. A module of its own so that main.ts loads oclif only when a
// command needs it (and so the bundle keeps oclif's named exports: see scripts/bundle.mjs).
import { execute } from '@oclif/core'

export async function runOclif(argv: string[], entry: string): Promise<void> {
  await execute({ args: argv, dir: entry })
}
