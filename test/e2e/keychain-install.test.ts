// The keychain binding comes from the package registry alone: no package in the lockfile compiles
// anything on install (only the project's own Node and esbuild fetch prebuilt binaries), and the
// installed binding works for a user with an empty HOME and no build tools on PATH, against the
// real Secret Service. Checked on Linux (x64, gnome-keyring) only; macOS and Windows use the
// same package's prebuilt binaries for their platforms and are not run here.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, cleanup, tempDir } from './harness.js'

describe('keychain binding from the registry', () => {
  it('nothing in the lockfile builds from source; the binding is a regular dependency', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean; optional?: boolean; dev?: boolean }> }
    const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([name]) => name)
    expect(withScripts.sort()).toEqual(['node_modules/esbuild', 'node_modules/node'])
    expect(Object.keys(lock.packages).filter((name) => /node-gyp|keytar|prebuild-install/.test(name))).toEqual([])
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.dependencies['@napi-rs/keyring']).toBeDefined()
    expect(lock.packages['node_modules/@napi-rs/keyring'].optional).toBeFalsy()
  })

  it('set, get and delete in the real Secret Service with an empty HOME and only node on PATH', () => {
    const home = tempDir('jit-fresh-home-')
    const nodeDir = dirname(process.execPath)
    // Only node itself on PATH: no compiler, make or pkg-config could have taken part.
    expect(readdirSync(nodeDir).filter((f) => /^(g\+\+|gcc|cc|make|pkg-config)$/.test(f))).toEqual([])
    const script = `
      const { SystemKeychain } = await import(${JSON.stringify(join(ROOT, 'dist/src/cli/keychain/keychain.js'))})
      const k = new SystemKeychain()
      await k.probe()
      const account = 'fresh-home:' + process.pid
      await k.set(account, 'secret-value')
      const back = await k.get(account)
      const deleted = await k.delete(account)
      const after = await k.get(account)
      console.log(JSON.stringify({ back, deleted, after }))`
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: nodeDir, HOME: home, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? '' },
      encoding: 'utf8',
    })
    expect(run.status, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({ back: 'secret-value', deleted: true, after: null })
    // Nothing was written into the empty HOME: no build cache, no node-gyp headers, no file fallback.
    expect(existsSync(home) && readdirSync(home)).toEqual([])
    cleanup(home)
  })
})
