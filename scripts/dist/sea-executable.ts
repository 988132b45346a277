// Makes one single executable: the SEA blob (the bundle, the keychain binding's native file and
// the worker modules as assets) prepared by a Node of exactly the version it goes into, then
// injected into a copy of that platform's node binary with postject.
//
// The blob is made on this machine for every platform. That is sound only because code cache and
// snapshot are off: Node's documentation says so for cross-platform SEAs, and its source
// (src/node_sea.cc, SeaSerializer) writes a blob as a uint32 magic, uint32 flags, then
// length-prefixed strings (a size_t length: 8 bytes, little-endian, on every target here) for
// the main path, the main script and each asset. Nothing in it depends on the platform; the code
// cache and the snapshot are V8 data for one platform, and they stay out (the code cache is used
// only for this machine's own platform).
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inject } from 'postject'
import type { Target } from './targets.ts'

// The fuse Node's SEA support looks for in its own binary (doc/api/single-executable-applications.md).
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

export interface SeaInputs {
  target: Target
  /** The node binary of the target platform that becomes the executable. */
  nodeBinary: string
  /** A node of the same version that runs here, to prepare the blob. */
  blobNode: string
  main: string
  assets: Record<string, string>
  workDir: string
  output: string
  /**
   * V8's compiled code in the blob, for a faster start: only when the blob is made on the platform
   * it is for (a code cache is V8 data for one platform and one build).
   */
  useCodeCache: boolean
}

export async function makeSeaExecutable(inputs: SeaInputs): Promise<void> {
  mkdirSync(inputs.workDir, { recursive: true })
  const blob = join(inputs.workDir, 'sea-prep.blob')
  const config = join(inputs.workDir, 'sea-config.json')
  writeFileSync(
    config,
    JSON.stringify({ main: inputs.main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: inputs.useCodeCache, assets: inputs.assets }, null, 2),
  )
  execFileSync(inputs.blobNode, ['--experimental-sea-config', config], { cwd: inputs.workDir, stdio: ['ignore', 'ignore', 'inherit'] })
  copyFileSync(inputs.nodeBinary, inputs.output)
  chmodSync(inputs.output, 0o755)
  // postject warns that a Mach-O or PE signature is now invalid: that is expected, and
  // docs/INSTALL.md says how to sign the result.
  await inject(inputs.output, 'NODE_SEA_BLOB', readFileSync(blob), {
    sentinelFuse: SENTINEL_FUSE,
    machoSegmentName: inputs.target.format === 'macho' ? 'NODE_SEA' : undefined,
    overwrite: true,
  })
}
