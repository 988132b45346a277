// `npm run dist`: the single executables, each with its SHA-256 and SBOM, and with --bundle the
// offline archive. Build inputs (Node's per-platform binaries, the keychain binding's
// per-platform packages) are fetched into a cache folder, not installed into the project.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
// @ts-expect-error: a plain JavaScript module of the build
import { buildInfo } from '../build-info.mjs'
import { fetchPackage, type Fetched } from './fetch.ts'
import { chooseNodeVersion } from './node-version.ts'
import { offlineBundle } from './offline-bundle.ts'
import { sbom } from './sbom.ts'
import { bundleForSea } from './sea-bundle.ts'
import { makeSeaExecutable } from './sea-executable.ts'
import { hostTarget, type Target } from './targets.ts'

export interface DistOptions {
  root: string
  targets: Target[]
  outDir: string
  cacheDir: string
  /** Node version to build from (default: the `node` devDependency as installed). */
  nodeVersion: string
  bundle: boolean
  /** A native file to embed instead of the fetched one, per target id: a copy signed for macOS (docs/INSTALL.md). */
  keyringFiles?: Record<string, string>
}

export interface Built {
  target: Target
  file: string
  sha256: string
  bytes: number
  node: string
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

/** A node of `version` that runs on this machine, to prepare blobs for that version. */
function blobNode(options: DistOptions, version: string): string {
  if (process.version === `v${version}`) return process.execPath
  const host = hostTarget()
  if (!host) throw new Error(`Cannot prepare a Node ${version} blob on ${process.platform}-${process.arch}: no Node package for this machine.`)
  return join(fetchPackage(options.cacheDir, host.nodePackage, version).dir, host.nodeBinary)
}

async function buildTarget(options: DistOptions, target: Target, info: { version: string; commit: string }): Promise<Built> {
  const choice = chooseNodeVersion(target.nodePackage, options.nodeVersion)
  if (choice.fallback) process.stderr.write(`dist: ${target.id}: ${choice.fallback}\n`)
  const node: Fetched = fetchPackage(options.cacheDir, target.nodePackage, choice.version)
  const keyringVersion = (JSON.parse(readFileSync(join(options.root, 'node_modules', '@napi-rs', 'keyring', 'package.json'), 'utf8')) as { version: string }).version
  const keyring = fetchPackage(options.cacheDir, target.keyringPackage, keyringVersion)
  const keyringFile = options.keyringFiles?.[target.id] ?? join(keyring.dir, target.keyringFile)
  const work = join(options.outDir, '.work', target.id)
  rmSync(work, { recursive: true, force: true })
  const bundled = await bundleForSea(options.root, work, { nodeMajor: Number(choice.version.split('.')[0]), keyringSha256: sha256(keyringFile) })
  const file = join(options.outDir, target.executable)
  await makeSeaExecutable({
    target,
    nodeBinary: join(node.dir, target.nodeBinary),
    blobNode: blobNode(options, choice.version),
    main: bundled.main,
    assets: { 'keyring.node': keyringFile, ...bundled.workers },
    workDir: work,
    output: file,
    useCodeCache: hostTarget()?.id === target.id,
  })
  const digest = sha256(file)
  writeFileSync(`${file}.sha256`, `${digest}  ${target.executable}\n`)
  writeFileSync(`${file}.cdx.json`, `${JSON.stringify(sbom({ root: options.root, target, ...info, node, keyring, sha256: digest }), null, 2)}\n`)
  rmSync(work, { recursive: true, force: true })
  return { target, file, sha256: digest, bytes: readFileSync(file).length, node: choice.version }
}

export async function dist(options: DistOptions): Promise<{ built: Built[]; archive?: string }> {
  const info = buildInfo(options.root) as { version: string; commit: string }
  mkdirSync(options.outDir, { recursive: true })
  const built: Built[] = []
  for (const target of options.targets) {
    process.stderr.write(`dist: building ${target.executable}\n`)
    built.push(await buildTarget(options, target, info))
  }
  rmSync(join(options.outDir, '.work'), { recursive: true, force: true })
  writeFileSync(join(options.outDir, 'SHA256SUMS'), built.map((b) => `${b.sha256}  ${b.target.executable}\n`).join(''))
  const archive = options.bundle ? offlineBundle(options.root, options.outDir, info.version, built.map((b) => b.target.executable)) : undefined
  return { built, archive }
}

