// Runs the oclif CLI. `jit --version`, a plain `jit sessions` and ssh's ProxyCommand relay
// (`jit ssh-proxy SOCKET`) are answered without loading oclif: start-up time is a feature (see
// sessions-fast-path.ts for what "plain" means, ssh/proxy-entry.ts for the relay). This file
// imports nothing up front: in the bundle, each static import here is more modules Node must
// resolve, read and link before any command starts (build-info.js alone was three).

export async function run(argv: string[], entry: string): Promise<void> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    const { buildInfo } = await import('../util/build-info.js')
    process.stdout.write(`jit/${buildInfo().version} ${process.platform}-${process.arch} node-${process.version}\n`)
    return
  }
  if (argv[0] === 'sessions') {
    const { runPlainSessions } = await import('./sessions-fast-path.js')
    if (await runPlainSessions(argv.slice(1))) return
  }
  if (argv[0] === 'ssh-proxy') {
    const { runPlainSshProxy } = await import('./ssh/proxy-entry.js')
    if (await runPlainSshProxy(argv.slice(1))) return
  }
  const { runOclif } = await import('./oclif.js')
  await runOclif(argv, entry)
}
