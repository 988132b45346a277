// Runs the oclif CLI. `jit --version` and a plain `jit sessions` are answered without loading
// oclif: start-up time is a feature (see sessions-fast-path.ts for what "plain" means).
import { readFileSync } from 'node:fs'

export async function run(argv: string[], entry: string): Promise<void> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', entry), 'utf8')) as { version: string }
    process.stdout.write(`jit/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
    return
  }
  if (argv[0] === 'sessions') {
    const { runPlainSessions } = await import('./sessions-fast-path.js')
    if (await runPlainSessions(argv.slice(1))) return
  }
  const { runOclif } = await import('./oclif.js')
  await runOclif(argv, entry)
}
