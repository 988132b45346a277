// Shell completion (oclif's autocomplete plugin) in a real bash: commands, subcommands and flags,
// from the completion script jit writes for this checkout's commands.
import { execFileSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, cleanup, tempDir } from './harness.js'

const cache = tempDir('jit-completion-')
afterAll(() => cleanup(cache))

/** What bash offers for a partly typed command line (the last word is being completed). */
function complete(line: string): string[] {
  const words = line.split(' ')
  const script = [
    `eval "$("${process.execPath}" "${BIN}" autocomplete script bash 2>/dev/null)"`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${line}'`,
    '_jit_autocomplete',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n')
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cache, JIT_HOME: cache } })
  return out.split('\n').filter(Boolean)
}

describe('shell completion', () => {
  it('installs for bash and completes commands, subcommands and flags', () => {
    const refreshed = execFileSync(process.execPath, [BIN, 'autocomplete', '--refresh-cache'], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cache } })
    expect(refreshed).toBe('')
    expect(complete('jit req')).toEqual(['request', 'requests'])
    expect(complete('jit sessions pi')).toEqual(['pickup'])
    expect(complete('jit request --ti')).toEqual(['--ticket', '--timeout'])
    expect(complete('jit audit --si')).toEqual(['--since'])
  })
})
