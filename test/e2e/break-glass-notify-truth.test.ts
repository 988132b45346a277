// Notifications that tell the truth, with real broker processes and no webhook at all: the broker
// says at start what it can deliver and warns (or, asked to, refuses to start) about targets
// nothing delivers; the person breaking the glass is told "notified" only for what was; each
// target's fate is in the audit trail; security reads new break-glass events in jit reviews.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, FIXTURE_POLICY, PLC, cleanup, jit, startBroker, tempDir, type TestBroker } from './harness.js'

let broker: TestBroker
let tess: string
let reviewFile: string
const work = tempDir('jit-notify-truth-')

beforeAll(async () => {
  broker = await startBroker()
  tess = await broker.enroll('tess', ['technician'])
  reviewFile = join(work, 'review.yaml')
  writeFileSync(reviewFile, 'what_was_done: reset\nwhy_not_normal_path: night\nchanges_to_asset: none\nrollback_needed: false\n')
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, tess, work)
})

async function notificationEvents(sessionId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  return (await broker.withStore((store) => store.auditLog.events({ sessionId }))).filter((e) => e.type.startsWith('notification.'))
}

describe('break-glass notifications without any webhook', () => {
  it('the broker states at start what it delivers and warns loudly about what it cannot', () => {
    const log = broker.log()
    expect(log).toContain('break-glass notifications: role:security → jit reviews (0 users with the role)')
    expect(log).toContain('WARNING: break-glass notification mailto:ot-security@plant-a.example: NOT DELIVERED, this broker sends no mail')
    expect(log).toContain('WARNING: break-glass notification role:security: no user has the security role yet')
  })

  it('with --require-notify-delivery it refuses to start, naming the target', async () => {
    const data = tempDir('jit-broker-strict-')
    const child = spawn(process.execPath, [BIN, 'broker', 'start', '--data', data, '--policy', FIXTURE_POLICY, '--listen', '127.0.0.1:0', '--require-notify-delivery'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    let stderr = ''
    let stdout = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.on('data', (d) => (stdout += d))
    const code = await new Promise((done) => child.on('close', done))
    cleanup(data)
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toContain('names notification targets that nothing delivers: mailto:ot-security@plant-a.example (this broker sends no mail')
  })

  it('with --require-notify-delivery a reload that names such a target is refused; the policy in force stays', async () => {
    const file = join(work, 'strict-policy.yaml')
    const deliverable = readFileSync(FIXTURE_POLICY, 'utf8').replace("notify: ['role:security', 'mailto:ot-security@plant-a.example']", "notify: ['role:security']")
    expect(deliverable).not.toContain('mailto:')
    writeFileSync(file, deliverable)
    const strict = await startBroker({ policy: file, args: ['--require-notify-delivery'] })
    try {
      expect(strict.log()).toContain('break-glass notifications: role:security → jit reviews')
      writeFileSync(file, deliverable.replace("notify: ['role:security']", "notify: ['role:security', 'mailto:someone@plant-a.example']"))
      strict.process.kill('SIGHUP')
      const end = Date.now() + 10_000
      while (!/policy reload refused/.test(strict.log()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
      expect(strict.log()).toMatch(/policy reload refused \((SIGHUP|file change)\): the previous policy stays in force; the break-glass section names notification targets that nothing delivers: mailto:someone@plant-a\.example/)
      expect(strict.log()).not.toContain('policy reloaded')
    } finally {
      await strict.stop()
      cleanup(strict.dataDir)
    }
  })

  it('with nobody to tell, the CLI says so instead of "security has been notified"', async () => {
    const result = await jit(['break-glass', '--asset', PLC, '--reason', 'line 3 down', '--review-file', reviewFile, '--', 'true'], { home: tess })
    expect(result.code).toBe(0)
    expect(result.stderr).not.toMatch(/Security has been notified/i)
    expect(result.stderr).toContain('NOT notified: role:security (no user has the security role).')
    expect(result.stderr).toContain('NOT notified: mailto:ot-security@plant-a.example (this broker sends no mail')
    expect(result.stderr).toContain('Nobody has been notified by jit: tell security yourself.')
  })

  it('a security user is notified in jit reviews; every target\'s fate is audited; the CLI says which were reached', async () => {
    const sec = await broker.enroll('sam', ['security'])
    try {
      const result = await jit(['break-glass', '--asset', PLC, '--reason', 'line 3 down again', '--json'], { home: tess })
      expect(result.code).toBe(0)
      const opened = result.json()
      expect(opened.notifications).toEqual([
        { target: 'role:security', status: 'delivered', via: 'jit reviews' },
        { target: 'mailto:ot-security@plant-a.example', status: 'undeliverable', detail: expect.stringMatching(/^this broker sends no mail/) },
      ])
      const sessionId = opened.session.id as string
      expect((await notificationEvents(sessionId))).toEqual([
        expect.objectContaining({ type: 'notification.delivered', data: { event: 'break-glass.opened', target: 'role:security', via: 'jit reviews' } }),
        expect.objectContaining({ type: 'notification.undeliverable', data: expect.objectContaining({ event: 'break-glass.opened', target: 'mailto:ot-security@plant-a.example' }) }),
      ])

      // Security sees the new event in jit reviews, no webhook involved.
      const reviews = await jit(['reviews', '--json'], { home: sec })
      expect(reviews.json().reviews).toContainEqual(expect.objectContaining({ sessionId, user: 'tess', asset: PLC, state: 'awaiting-end' }))
      const table = await jit(['reviews'], { home: sec })
      expect(table.stdout).toMatch(/│ id\s+│ who\s+│ asset\s+│ kind\s+│ state\s+│ due\s+│ overdue │/)

      const human = await jit(['revoke', sessionId], { home: tess })
      expect(human.code).toBe(0)
      expect((await jit(['review', '--file', reviewFile], { home: tess })).code).toBe(0)
      const again = await jit(['break-glass', '--asset', PLC, '--reason', 'third time', '--review-file', reviewFile, '--', 'true'], { home: tess })
      expect(again.stderr).toContain('Notified: role:security (in jit reviews).')
      expect(again.stderr).toContain('NOT notified: mailto:ot-security@plant-a.example')
      expect(again.stderr).not.toContain('Nobody has been notified')
    } finally {
      cleanup(sec)
    }
  })
})
