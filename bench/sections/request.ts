// End to end `jit request` on an auto-approving rule: from the CLI process starting to the
// credential cached in the real keychain (the process exits only after the cache write),
// beside bare `node -e 0` measured in the same rounds.
import { join } from 'node:path'
import type { Section } from '../lib.ts'
import { interleavedRuns, keychainAvailable, medianOf, removeDirs, requestArgs, startBrokerProcess } from '../support.ts'

const request: Section = async ({ quick, root }) => {
  if (!(await keychainAvailable())) throw new Error('No OS keychain answers: run the bench inside scripts/with-keyring.sh (npm run bench does).')
  const broker = await startBrokerProcess(root)
  let home: string | undefined
  try {
    home = await broker.loginCli('tech-request', root)
    const times = await interleavedRuns(
      [
        { name: 'node', command: process.execPath, args: ['-e', '0'] },
        {
          name: 'request',
          command: process.execPath,
          args: [join(root, 'bin/run.js'), ...requestArgs(), '--json'],
          env: { JIT_HOME: home },
          check: (result) => {
            const out = JSON.parse(result.stdout) as { cached?: boolean; session?: { state?: string } }
            if (out.cached !== true || out.session?.state !== 'active') throw new Error(`jit request did not cache an active session: ${result.stdout}`)
          },
        },
      ],
      quick ? 2 : 15,
      quick ? 1 : 2,
    )
    const node = medianOf(times, 'node')
    const value = medianOf(times, 'request')
    return [{
      section: 'request',
      name: 'jit request → credential cached',
      value,
      unit: 'ms',
      baseline: { name: 'node -e 0', value: node },
      ratio: value / node,
      note: `median of ${times.get('request')!.length} runs; broker on loopback, real keychain`,
    }]
  } finally {
    await broker.stop()
    if (home) removeDirs(home)
  }
}

export default request
