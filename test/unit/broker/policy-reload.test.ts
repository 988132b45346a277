// Reloading the policy while the broker runs: a good file takes effect, a bad one is refused
// with its problems in the log and the old policy stays in force; both are audited.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../src/broker/server.js'

const FIXTURE = join(import.meta.dirname, '../../fixtures/policy.yaml')
let dir: string
let policyFile: string
let broker: RunningBroker
const log: string[] = []

const waitFor = async (what: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out; log:\n${log.join('\n')}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jit-reload-'))
  policyFile = join(dir, 'policy', 'policy.yaml')
  const { mkdirSync } = await import('node:fs')
  mkdirSync(join(dir, 'policy'))
  copyFileSync(FIXTURE, policyFile)
  broker = await startBroker({ dataDir: join(dir, 'data'), policyFile, host: '127.0.0.1', port: 0, log: (line) => log.push(line) })
})
afterAll(async () => {
  await broker.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('policy reload', () => {
  it('refuses an invalid policy, keeps the old one, and logs file:line:col', async () => {
    const before = broker.ctx.policy
    writeFileSync(policyFile, readFileSync(FIXTURE, 'utf8').replace('max_ttl: 2h', 'max_ttl: two hours'))
    expect(broker.reloadPolicy('SIGHUP')).toBe(false)
    expect(broker.ctx.policy).toBe(before)
    const line = log.find((l) => l.startsWith('policy reload refused (SIGHUP)'))!
    expect(line).toContain('the previous policy stays in force')
    expect(line).toContain(`${policyFile}:11:14: rules.0.max_ttl: expected a duration such as 30m, 2h or 1h30m`)
    const refused = (await broker.ctx.store.auditLog.events()).find((e) => e.type === 'policy.reload-refused')!
    expect(refused.data).toMatchObject({ trigger: 'SIGHUP', inForce: before.digest })
  })

  it('a file that cannot be read or parsed at all does not take the broker down either', async () => {
    const before = broker.ctx.policy
    writeFileSync(policyFile, 'rules: [\n\t{')
    expect(broker.reloadPolicy('SIGHUP')).toBe(false)
    rmSync(policyFile)
    expect(broker.reloadPolicy('SIGHUP')).toBe(false)
    expect(log.some((l) => l.includes(`${policyFile}:1:1: cannot read the file (ENOENT)`))).toBe(true)
    expect(broker.ctx.policy).toBe(before)
  })

  it('picks up a valid new policy when the file is replaced (editor-style rename)', async () => {
    const changed = readFileSync(FIXTURE, 'utf8').replace('max_ttl: 2h', 'max_ttl: 3h')
    writeFileSync(join(dir, 'policy', '.policy.yaml.tmp'), changed)
    renameSync(join(dir, 'policy', '.policy.yaml.tmp'), policyFile)
    await waitFor(() => broker.ctx.policy.rules[0].maxTtlSeconds === 3 * 3600)
    expect(log.some((l) => l.startsWith('policy reloaded (file change)'))).toBe(true)
    const reloaded = (await broker.ctx.store.auditLog.events()).filter((e) => e.type === 'policy.reloaded').at(-1)!
    expect(reloaded.data).toMatchObject({ trigger: 'file change', rules: 3, digest: broker.ctx.policy.digest })
  })

  it('SIGHUP on an unchanged file changes nothing', async () => {
    const before = broker.ctx.policy
    expect(broker.reloadPolicy('SIGHUP')).toBe(false)
    expect(broker.ctx.policy).toBe(before)
    expect(log.some((l) => /^policy unchanged \(SIGHUP\)/.test(l))).toBe(true)
  })
})
