// Runs the oclif CLI. `jit --version` is answered without loading oclif: start-up time is a feature.
import { readFileSync } from 'node:fs'

export async function run(argv: string[], entry: string): Promise<void> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', entry), 'utf8')) as { version: string }
    process.stdout.write(`jit/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
    return
  }
  const { runOclif } = await import('./oclif.js')
  await runOclif(argv, entry)
}
