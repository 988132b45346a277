// `jit sessions` answers a plain command line without oclif's runtime (src/cli/sessions-fast-path.ts).
// What it prints and how it exits must be exactly what the oclif command prints and how it exits:
// each case runs both ways, the oclif way forced by DEBUG (which the fast path leaves to oclif;
// a namespace that matches nothing keeps oclif's own debug output off).
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, ROOT, cleanup, jit, startBroker, tempDir, type CliResult, type RunOptions, type TestBroker } from './harness.js'

let broker: TestBroker
let alice: string
let bob: string

beforeAll(async () => {
  broker = await startBroker()
  alice = await broker.enroll('alice', ['technician'])
  bob = await broker.enroll('bob', ['technician'])
  for (const reason of ['first', 'second']) {
    const granted = await jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '30m', '--reason', reason, '--json'], { home: alice })
    expect(granted.code, granted.stderr).toBe(0)
  }
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, alice, bob)
})

// Time left counts down between the two runs; everything else must match to the byte.
const steady = (result: CliResult) => ({ code: result.code, stdout: result.stdout.replace(/\b\d+m\d\ds\b/g, 'TIME'), stderr: result.stderr })

async function bothWays(args: string[], options: RunOptions): Promise<{ fast: ReturnType<typeof steady>; oclif: ReturnType<typeof steady> }> {
  const fast = steady(await jit(args, options))
  const oclif = steady(await jit(args, { ...options, env: { ...options.env, DEBUG: 'jit-test-nothing' } }))
  return { fast, oclif }
}

/** Runs jit with every module it loads written down (test/e2e/module-trace.mjs): the paths under the project, relative to it. */
async function traced(args: string[], options: RunOptions): Promise<{ result: CliResult; loaded: string[] }> {
  const trace = join(tempDir('jit-trace-'), 'modules')
  try {
    const result = await jit(args, { ...options, env: { ...options.env, NODE_OPTIONS: `--import ${pathToFileURL(join(ROOT, 'test/e2e/module-trace.mjs')).href}`, JIT_TEST_MODULE_TRACE: trace } })
    const root = `${pathToFileURL(ROOT).href}/`
    return { result, loaded: readFileSync(trace, 'utf8').split('\n').filter((url) => url.startsWith(root)).map((url) => url.slice(root.length)) }
  } finally {
    cleanup(dirname(trace))
  }
}

describe('jit sessions without oclif', () => {
  it('a plain command line runs the fast path: neither oclif nor its sessions command, nor jose, is loaded', async () => {
    const fast = await traced(['sessions', '--profile', 'default'], { home: alice, env: { JIT_NO_PROMPT: '1' } })
    expect(fast.result.code, fast.result.stderr).toBe(0)
    expect(fast.loaded).toContain('dist/bundle/src/cli/sessions-fast-path.js')
    expect(fast.loaded.filter((path) => /\/commands\/|oclif|node_modules\/(@oclif|jose)\//.test(path))).toEqual([])
    // The same listing through oclif, as a line the fast path leaves alone: the trace tells the two apart.
    const oclif = await traced(['sessions', '--profile', 'default'], { home: alice, env: { JIT_NO_PROMPT: '1', DEBUG: 'jit-test-nothing' } })
    expect(oclif.result.code, oclif.result.stderr).toBe(0)
    expect(oclif.loaded).toContain('dist/bundle/commands/sessions/index.js')
    expect(steady(oclif.result)).toEqual(steady(fast.result))
  })

  it('lists the same table, with the global flags and their env twins', async () => {
    const plain = await bothWays(['sessions'], { home: alice })
    expect(plain.fast.code).toBe(0)
    expect(plain.fast.stdout.split('\n').filter((line) => line.includes(PLC))).toHaveLength(2)
    expect(plain.fast).toEqual(plain.oclif)
    for (const [args, env] of [
      [['sessions', '--profile', 'default', '--no-prompt'], {}],
      [['sessions', '--profile=default', `--broker=${broker.url}`], {}],
      [['sessions'], { JIT_PROFILE: 'default', JIT_BROKER: broker.url, JIT_NO_PROMPT: '1' }],
    ] as const) {
      const run = await bothWays([...args], { home: alice, env: { ...env } })
      expect(run.fast, args.join(' ')).toEqual(plain.fast)
      expect(run.oclif, args.join(' ')).toEqual(plain.fast)
    }
  })

  it('says so when there are none', async () => {
    const none = await bothWays(['sessions'], { home: bob })
    expect(none.fast).toEqual({ code: 0, stdout: '', stderr: '› No active sessions.\n' })
    expect(none.oclif).toEqual(none.fast)
  })

  it('fails the same way: no broker, not enrolled, another broker, an unreachable broker', async () => {
    const noBroker = await bothWays(['sessions', '--profile', 'nobody'], { home: alice })
    expect(noBroker.fast.code).toBe(2)
    expect(noBroker.fast.stderr).toMatch(/No broker is configured/)
    expect(noBroker.fast).toEqual(noBroker.oclif)

    const notEnrolled = await bothWays(['sessions', '--profile', 'nobody', '--broker', broker.url], { home: alice })
    expect(notEnrolled.fast.code).toBe(9)
    expect(notEnrolled.fast.stderr).toMatch(/not enrolled/)
    expect(notEnrolled.fast).toEqual(notEnrolled.oclif)

    const otherBroker = await bothWays(['sessions'], { home: alice, env: { JIT_BROKER: 'http://127.0.0.1:9' } })
    expect(otherBroker.fast.code).toBe(9)
    expect(otherBroker.fast.stderr).toMatch(/signs only for that broker/)
    expect(otherBroker.fast).toEqual(otherBroker.oclif)

    await broker.stop()
    const down = await bothWays(['sessions'], { home: alice })
    expect(down.fast.code).toBe(5)
    expect(down.fast.stderr).toMatch(/Cannot reach the broker/)
    expect(down.fast).toEqual(down.oclif)
  })
})
