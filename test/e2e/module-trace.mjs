// Loaded with --import into a jit process under test (NODE_OPTIONS): at exit, writes the URL of
// every module the process loaded to the file JIT_TEST_MODULE_TRACE names, one a line. How a test
// sees which code actually ran (the `jit sessions` fast path, or oclif).
import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const loaded = []
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url)
    return nextLoad(url, context)
  },
})
process.on('exit', () => writeFileSync(process.env.JIT_TEST_MODULE_TRACE, `${loaded.join('\n')}\n`))
