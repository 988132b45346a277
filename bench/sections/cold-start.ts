// Cold start of the CLI as a person feels it: `jit --version`, and `jit sessions` with a few
// cached credentials in the real keychain and a broker on loopback, each beside bare
// `node -e 0` measured in the same rounds. The ratios are the figures that count. Beside them,
// what the keychain binding (@napi-rs/keyring) costs a command: loading it alone, and loading it
// plus the one read `jit sessions` makes (the device key), also against `node -e 0`.
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { BenchRow, Section } from '../lib.ts'
import { interleavedRuns, keychainAvailable, medianOf, removeDirs, requestArgs, startBrokerProcess, timedRun, type ProcessResult } from '../support.ts'

const CACHED_ENTRIES = 3

const coldStart: Section = async ({ quick, root }) => {
  if (!(await keychainAvailable())) throw new Error('No OS keychain answers: run the bench inside scripts/with-keyring.sh (npm run bench does).')
  const bin = join(root, 'bin/run.js')
  const broker = await startBrokerProcess(root)
  let home: string | undefined
  try {
    home = await broker.loginCli('tech-cold', root)
    for (let i = 0; i < CACHED_ENTRIES; i++) {
      const granted = await timedRun(process.execPath, [bin, ...requestArgs(), '--json'], { JIT_HOME: home })
      if (granted.code !== 0 || JSON.parse(granted.stdout).cached !== true) throw new Error(`jit request failed (${granted.code}): ${granted.stderr}${granted.stdout}`)
    }
    const listed = await timedRun(process.execPath, [bin, 'sessions', '--json'], { JIT_HOME: home })
    const sessions = JSON.parse(listed.stdout).sessions as { cached: boolean }[]
    if (sessions.filter((s) => s.cached).length !== CACHED_ENTRIES) throw new Error(`expected ${CACHED_ENTRIES} cached sessions, jit sessions shows: ${listed.stdout}`)

    const env = { JIT_HOME: home }
    const binding = JSON.stringify(createRequire(join(root, 'package.json')).resolve('@napi-rs/keyring'))
    const loadBinding = `require(${binding})`
    const readOnce = `const { AsyncEntry } = require(${binding}); new AsyncEntry('jit', 'bench-absent', { linux: { store: 'secret-service' } }).getPassword().then((v) => { if (v !== null) process.exit(3) })`
    const expectLines = (lines: number) => (result: ProcessResult) => {
      // The human table: a header, a rule and one line per session (cli-table3 draws borders).
      if (result.stdout.split('\n').filter((l) => l.includes('plant-a/')).length !== lines) throw new Error(`jit sessions printed:\n${result.stdout}`)
    }
    const times = await interleavedRuns(
      [
        { name: 'node', command: process.execPath, args: ['-e', '0'] },
        { name: 'version', command: process.execPath, args: [bin, '--version'], check: (r) => { if (!r.stdout.startsWith('jit/')) throw new Error(`jit --version printed ${r.stdout}`) } },
        { name: 'sessions', command: process.execPath, args: [bin, 'sessions'], env, check: expectLines(CACHED_ENTRIES) },
        { name: 'keyring-load', command: process.execPath, args: ['-e', loadBinding] },
        { name: 'keyring-read', command: process.execPath, args: ['-e', readOnce] },
      ],
      quick ? 3 : 25,
      quick ? 1 : 3,
    )
    const node = medianOf(times, 'node')
    const baseline = { name: 'node -e 0', value: node }
    const row = (name: string, key: string, limit: number, target: string): BenchRow => {
      const value = medianOf(times, key)
      return { section: 'cold-start', name, value, unit: 'ms', baseline, ratio: value / node, target, met: value / node <= limit, note: `median of ${times.get(key)!.length} runs` }
    }
    const measured = (name: string, key: string): BenchRow => {
      const value = medianOf(times, key)
      return { section: 'cold-start', name, value, unit: 'ms', baseline, ratio: value / node, note: `median of ${times.get(key)!.length} runs; ${Math.round(value - node)} ms over node -e 0` }
    }
    return [
      row('jit --version', 'version', 2, '<= 2x node -e 0'),
      row(`jit sessions (${CACHED_ENTRIES} cached)`, 'sessions', 3, '<= 3x node -e 0'),
      measured('node + load @napi-rs/keyring', 'keyring-load'),
      measured('node + load @napi-rs/keyring + one Secret Service read', 'keyring-read'),
    ]
  } finally {
    await broker.stop()
    if (home) removeDirs(home)
  }
}

export default coldStart
