// The version and commit a build writes into jit (src/util/build-info.ts reads them back).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

function git(root, args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

/** { version, commit }: the commit is the short hash, with "-dirty" when the tree had changes; "unknown" outside git. */
export function buildInfo(root) {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const head = git(root, ['rev-parse', '--short=12', 'HEAD'])
  const dirty = head !== undefined && git(root, ['status', '--porcelain', '--untracked-files=no']) !== ''
  return { version, commit: head === undefined ? 'unknown' : `${head}${dirty ? '-dirty' : ''}` }
}
