// vitest global setup: the end-to-end tests run bin/run.js against dist/, built once before the
// run (npm test builds first). Anything that rebuilt or rewrote it during the run (`npm run build`
// starts with rm -rf dist) pulled the CLI from under the tests running at that moment, whose
// brokers then could not find their own modules; so the run fails if dist/ changed.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

const DIST = resolve(import.meta.dirname, '../dist')

/** The folder itself (a new one after rm -rf) and the newest change to anything in it. */
function stateOf(dir: string): string {
  if (!existsSync(dir)) return 'no folder' // unit tests run without a build
  const newest = (path: string): number => {
    const stat = statSync(path)
    if (!stat.isDirectory()) return stat.mtimeMs
    return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
  }
  return `folder ${statSync(dir).ino}, newest change ${new Date(newest(dir)).toISOString()}`
}

export default function distUnchanged(): () => void {
  const before = stateOf(DIST)
  return () => {
    const after = stateOf(DIST)
    if (after !== before) throw new Error(`dist/ changed during the test run (${before} before, ${after} after): a test rebuilt or wrote into it`)
  }
}
