// Which jit this is: the version and the commit it was built from. The build (scripts/bundle.mjs,
// and the single-executable build) writes both in as __JIT_BUILD__; unbundled code (the tests)
// reads the version from package.json.
import { readFileSync } from 'node:fs'

export interface BuildInfo {
  version: string
  commit: string
}

declare const __JIT_BUILD__: BuildInfo | undefined

export function buildInfo(): BuildInfo {
  if (typeof __JIT_BUILD__ !== 'undefined') return __JIT_BUILD__
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return { version: pkg.version, commit: 'unknown' }
}
