// `jit ssh-proxy SOCKET`, ssh's ProxyCommand through a gateway, runs without oclif's runtime
// (src/cli/ssh/proxy-entry.ts): a real jit process relays its stdin and stdout to a real Unix
// socket, and the modules it loaded are written down (test/e2e/module-trace.mjs).
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, cleanup, jit, tempDir, type CliResult, type RunOptions } from './harness.js'

const dirs: string[] = []
afterAll(() => cleanup(...dirs))

async function traced(args: string[], options: RunOptions = {}): Promise<{ result: CliResult; loaded: string[] }> {
  const trace = join(tempDir('jit-trace-'), 'modules')
  try {
    const result = await jit(args, { ...options, env: { ...options.env, NODE_OPTIONS: `--import ${pathToFileURL(join(ROOT, 'test/e2e/module-trace.mjs')).href}`, JIT_TEST_MODULE_TRACE: trace } })
    const root = `${pathToFileURL(ROOT).href}/`
    return { result, loaded: readFileSync(trace, 'utf8').split('\n').filter((url) => url.startsWith(root)).map((url) => url.slice(root.length)) }
  } finally {
    cleanup(dirname(trace))
  }
}

const oclifModules = (loaded: string[]) => loaded.filter((path) => /\/commands\/|oclif|node_modules\/@oclif\//.test(path))

describe('jit ssh-proxy', () => {
  it('relays both ways to the tunnel socket and ends with it, without loading oclif', async () => {
    const dir = tempDir('jit-proxy-')
    dirs.push(dir)
    const path = join(dir, 'tunnel.sock')
    // The far end answers what it received, upper-cased, once ssh's side is done, then closes.
    const server = createServer((socket) => {
      let received = ''
      socket.on('data', (d) => (received += d))
      socket.on('end', () => socket.end(received.toUpperCase()))
    })
    await new Promise<void>((ok) => server.listen(path, () => ok()))
    try {
      const run = await traced(['ssh-proxy', path], { input: 'ssh-2.0-openssh_9.2\r\n' })
      expect(run.result.code, run.result.stderr).toBe(0)
      expect(run.result.stdout).toBe('SSH-2.0-OPENSSH_9.2\r\n')
      expect(run.loaded.some((p) => /^dist\/bundle\/chunks\/proxy-entry-[^/]+\.js$/.test(p))).toBe(true)
      expect(oclifModules(run.loaded)).toEqual([])
    } finally {
      server.close()
    }
  })

  it('says plainly that no running jit ssh holds the socket (exit 2), still without oclif', async () => {
    const dir = tempDir('jit-proxy-')
    dirs.push(dir)
    const run = await traced(['ssh-proxy', join(dir, 'gone.sock')])
    expect(run.result.code).toBe(2)
    expect(run.result.stderr).toMatch(/cannot reach the tunnel of a running jit ssh \(ENOENT\)/)
    expect(oclifModules(run.loaded)).toEqual([])
  })

  it('leaves any other command line to the oclif command (usage error, exit 2)', async () => {
    const missing = await traced(['ssh-proxy'])
    expect(missing.result.code).toBe(2)
    expect(missing.result.stderr).toMatch(/needs SOCKET/)
    expect(missing.loaded).toContain('dist/bundle/commands/ssh-proxy.js')
  })
})
