// Shell completion in a real bash: commands, subcommands and flags from oclif's autocomplete
// plugin, and on top of it asset paths, tickets and session/request ids from a real broker.
import { execFileSync } from 'node:child_process'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'

const cache = tempDir('jit-completion-')
const bin = tempDir('jit-completion-bin-')
const nobody = tempDir('jit-nobody-')
let broker: TestBroker
let tess: string

beforeAll(async () => {
  // The completion script runs `jit` from PATH, as it does once jit is on the PATH.
  writeFileSync(join(bin, 'jit'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(bin, 'jit'), 0o755)
  broker = await startBroker()
  await broker.addAsset('plant-a/line-3/cell-2/hmi-02')
  await broker.addAsset('plant-b/line-1/cell-1/plc-01') // no rule names it for a technician
  tess = await broker.enroll('tess', ['technician'])
})

afterAll(async () => {
  await broker.stop()
  cleanup(cache, bin, nobody, broker.dataDir, tess)
})

/** What bash offers for a partly typed command line (the last word is being completed). */
function complete(line: string, home = cache): string[] {
  const words = line.split(' ')
  const script = [
    'eval "$(jit autocomplete script bash 2>/dev/null)"',
    'eval "$(jit complete bash-setup)"',
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${line}'`,
    '_jit_complete_dynamic',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n')
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, XDG_CACHE_HOME: cache, JIT_HOME: home } })
  return out.split('\n').filter(Boolean)
}

describe('shell completion', () => {
  it('completes commands, subcommands and flags', () => {
    const refreshed = execFileSync(process.execPath, [BIN, 'autocomplete', '--refresh-cache'], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cache } })
    expect(refreshed).toBe('')
    expect(complete('jit req')).toEqual(['request', 'requests'])
    expect(complete('jit sessions pi')).toEqual(['pickup'])
    expect(complete('jit request --ti')).toEqual(['--ticket', '--timeout'])
    expect(complete('jit audit --si')).toEqual(['--since'])
  })

  it('completes asset paths the policy lets this user ask for, their tickets and session ids, from the broker', async () => {
    expect(complete('jit request --asset plant-', tess)).toEqual([PLC, 'plant-a/line-3/cell-2/hmi-02'].sort())
    const opened = await jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--reason', 'completion', '--json'], { home: tess })
    const id = opened.json().session.id as string
    expect(complete('jit request --ticket WO', tess)).toEqual(['WO-104233'])
    expect(complete('jit revoke ', tess)).toEqual([id])
    expect(complete('jit sessions show ses_', tess)).toEqual([id])
    // Not enrolled: nothing offered, nothing printed into the command line.
    expect(complete('jit revoke ', nobody)).toEqual([])
  })
})
