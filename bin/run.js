#!/usr/bin/env node
// Entry point. Written for any Node so that an old runtime gets a clear message, not a syntax error.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(
    'jit needs Node.js 22 or newer; this is Node ' + process.versions.node + '.\n' +
    'Run it through npm so the project\'s own Node is used (npx jit ...), or install Node 22+.\n')
  process.exit(1)
}
// Node keeps the compiled code of jit and its modules on disk between runs (in the OS temp
// folder; NODE_DISABLE_COMPILE_CACHE=1 turns it off): a quarter less start-up time.
// No top-level await: when a reader closes the pipe early (jit ... | head) the last write never
// drains, and a pending top-level await would turn a clean exit into Node's exit code 13.
import('node:module')
  .then(({ enableCompileCache }) => {
    enableCompileCache?.()
    return import('../dist/bundle/src/cli/main.js')
  })
  .then(({ run }) => run(process.argv.slice(2), import.meta.url))
