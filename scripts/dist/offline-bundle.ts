// The offline bundle: one archive for plants that carry software in by hand. It holds the
// executables with their SHA-256 and SBOM files, SHA256SUMS, the example policy, the systemd
// units, the macOS entitlements for signing, the README and the install guide, under one folder
// named for the version.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'

export function offlineBundle(root: string, outDir: string, version: string, executables: string[]): string {
  const name = `jit-${version}-offline`
  const stage = join(outDir, '.stage', name)
  rmSync(join(outDir, '.stage'), { recursive: true, force: true })
  mkdirSync(join(stage, 'systemd'), { recursive: true })
  const copy = (from: string, to = join(stage, basename(from))) => copyFileSync(from, to)
  for (const exe of executables) {
    for (const suffix of ['', '.sha256', '.cdx.json']) copy(join(outDir, `${exe}${suffix}`))
  }
  copy(join(outDir, 'SHA256SUMS'))
  copy(join(root, 'README.md'))
  copy(join(root, 'docs', 'INSTALL.md'))
  copy(join(root, 'docs', 'example-policy.yaml'))
  for (const unit of ['jit-broker.service', 'jit-gateway.service']) copy(join(root, 'packaging', 'systemd', unit), join(stage, 'systemd', unit))
  copy(join(root, 'packaging', 'macos', 'entitlements.plist'))
  const archive = join(outDir, `${name}.tar.gz`)
  // tar ships with Linux, macOS and Windows 10 and later, so the archive opens everywhere.
  execFileSync('tar', ['czf', archive, '-C', join(outDir, '.stage'), name], { stdio: 'inherit' })
  rmSync(join(outDir, '.stage'), { recursive: true, force: true })
  return archive
}
