// Usage errors said in full, as a person and a script meet them: every missing flag and argument
// named with what it is for, bad values with what was expected, "did you mean" for a mistyped
// command or flag; exit 2 and one JSON document under --json. No broker is needed: the command
// line is refused before anything else happens.
import { afterAll, describe, expect, it } from 'vitest'
import { cleanup, jit, tempDir } from './harness.js'

const home = tempDir('jit-usage-')
afterAll(() => cleanup(home))
const run = (args: string[]) => jit(args, { home })

describe('missing flags and arguments', () => {
  it('jit request without its flags names each one and what it is for', async () => {
    const human = await run(['request', '--asset', 'plant-a/line-3/cell-2/plc-07'])
    expect(human.code).toBe(2)
    expect(human.stderr).toContain('jit request needs --scope and --ticket.')
    expect(human.stderr).toContain('--ticket: Work order, change or incident id the work is for')
    expect(human.stderr).toContain('--scope: What you need to do, e.g. read, diagnose, control')
    expect(human.stderr).not.toMatch(/The following errors? occurred/)

    const json = await run(['request', '--json'])
    expect(json.code).toBe(2)
    expect(json.json().error).toMatchObject({
      code: 'bad-input',
      exitCode: 2,
      message: 'jit request needs --asset, --scope and --ticket.',
      reasons: ['--asset: Asset path, e.g. plant-a/line-3/cell-2/plc-07', '--scope: What you need to do, e.g. read, diagnose, control', '--ticket: Work order, change or incident id the work is for'],
    })
  })

  it('jit deny ID without --reason, and jit policy explain without --policy', async () => {
    const deny = await run(['deny', 'req_x', '--json'])
    expect(deny.code).toBe(2)
    expect(deny.json().error.message).toBe('jit deny needs --reason.')
    expect(deny.json().error.reasons).toEqual([expect.stringMatching(/^--reason: \S+/)])
    const explain = await run(['policy', 'explain', '--user', 'alice', '--asset', 'plant-a/x', '--scope', 'read'])
    expect(explain.code).toBe(2)
    expect(explain.stderr).toMatch(/jit policy explain needs --policy\.\n\s+- --policy: Policy file/)
  })

  it('jit approve without an id says which argument and how to write it', async () => {
    const human = await run(['approve'])
    expect(human.code).toBe(2)
    expect(human.stderr).toContain('jit approve needs ID (Request id). Usage: jit approve ID')
    const json = await run(['approve', '--json'])
    expect(json.json().error.message).toBe('jit approve needs ID (Request id). Usage: jit approve ID')
  })
})

describe('bad values and unknown names', () => {
  it('a bad number says what was expected', async () => {
    const result = await run(['audit', '--limit', '-5', '--json'])
    expect(result.code).toBe(2)
    expect(result.json().error.message).toBe('Bad value for --limit: Expected an integer greater than or equal to 1 but received: -5.')
  })

  it('a mistyped flag gets a suggestion', async () => {
    const result = await run(['requests', '--pendin', '--json'])
    expect(result.code).toBe(2)
    expect(result.json().error).toMatchObject({ message: 'jit requests has no flag --pendin.', suggestions: ['--pending'] })
    expect(result.json().error.nextSteps).toContain('Did you mean --pending?')
  })

  it('a mistyped flag with a value names the flag, never the value (an enrollment code stays out of logs)', async () => {
    const result = await run(['login', '--broker', 'http://127.0.0.1:9', '--cod=QX7R-M2KD-91LF', '--json'])
    expect(result.code).toBe(2)
    expect(result.json().error.message).toBe('jit login has no flag --cod.')
    expect(result.stdout + result.stderr).not.toContain('QX7R-M2KD-91LF')
  })

  it('a mistyped command gets "did you mean", in words and in JSON', async () => {
    const human = await run(['reqest'])
    expect(human.code).toBe(2)
    expect(human.stderr).toContain('"reqest" is not a jit command. Did you mean jit request?')
    expect(human.stdout).toBe('')
    const json = await run(['reqest', '--json'])
    expect(json.code).toBe(2)
    expect(json.json().error).toMatchObject({ code: 'bad-input', exitCode: 2, suggestions: ['jit request', 'jit requests'] })
    const sub = await run(['sessions', 'pikup', 'req_x', '--json'])
    expect(sub.code).toBe(2)
    expect(sub.json().error.message).toBe('"sessions pikup req_x" is not a jit command. Did you mean jit sessions pickup?')
  })
})
