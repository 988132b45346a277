// How this very jit is started again from a child process. From the repository or npm, jit is a
// script that Node runs (node, bin/run.js); as a single executable it is one file, which Node
// runs without a script argument (and which takes no Node options, so it cannot run `node -e`).
import type * as Sea from 'node:sea'

export function isSingleExecutable(): boolean {
  const sea = process.getBuiltinModule?.('node:sea') as typeof Sea | undefined
  return sea?.isSea() ?? false
}

/** The argv prefix that runs this jit: [executable] or [node, script]. */
export function jitCommand(): string[] {
  return isSingleExecutable() ? [process.execPath] : [process.execPath, process.argv[1]]
}
