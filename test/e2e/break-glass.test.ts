// Break-glass end to end: real broker process, real CLI processes, real keychain.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addUser, enrollmentCode } from '../../src/broker/admin.js'
import { startRelay } from './broker-relay.js'
import { PLC, cleanup, introspect, jit, startBroker, tempDir, type TestBroker } from './harness.js'
import { freePort } from './ssh-server.js'

let broker: TestBroker
let verifierToken: string
let files: string
let reviewFile: string
const homes: string[] = []

async function enroll(name: string, roles: string[]): Promise<string> {
  const home = await broker.enroll(name, roles)
  homes.push(home)
  return home
}

beforeAll(async () => {
  broker = await startBroker()
  await broker.addAsset('plant-a/line-1/cell-1/plc-01')
  verifierToken = await broker.addVerifier('gateway')
  files = tempDir()
  reviewFile = join(files, 'review.yaml')
  writeFileSync(reviewFile, 'what_was_done: restarted the PLC runtime\nwhy_not_normal_path: no shift lead reachable at 03:00\nchanges_to_asset: none\nrollback_needed: false\nfollow_up_ticket: WO-104299\n')
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, files, ...homes)
})

const openArgs = (asset = PLC) => ['break-glass', '--asset', asset, '--reason', 'line 3 down, nobody answers']

describe('who and where', () => {
  it('is refused for a role the break-glass policy does not name (exit 3), and audited', async () => {
    const sam = await enroll('sam', ['shift-lead'])
    const result = await jit([...openArgs(), '--json'], { home: sam })
    expect(result.code).toBe(3)
    expect(result.json().error.reasons[0]).toMatch(/break-glass is not for sam/)
    const refused = (await broker.withStore((store) => store.auditLog.events({ actor: 'sam' }))).filter((e) => e.type === 'break-glass.refused')
    expect(refused).toHaveLength(1)
    expect(refused[0].severity).toBe('high')
  })

  it('is refused for an asset outside its patterns (exit 3)', async () => {
    const tom = await enroll('tom', ['technician'])
    const result = await jit([...openArgs('plant-a/line-1/cell-1/plc-01'), '--json'], { home: tom })
    expect(result.code).toBe(3)
    expect(result.json().error.reasons).toContain('break-glass does not cover plant-a/line-1/cell-1/plc-01')
  })
})

describe('the session', () => {
  it('is granted at once, capped at the hard TTL whatever --ttl says, and runs the command with revoke on exit', async () => {
    const tess = await enroll('tess', ['technician'])
    const out = tempDir()
    homes.push(out)
    const result = await jit([...openArgs(), '--ttl', '2h', '--review-file', reviewFile, '--json', '--', 'sh', '-c', `printf %s "$JIT_TOKEN" > ${out}/token; exit 5`], { home: tess })
    expect(result.code).toBe(5)
    const outcome = result.json()
    expect(outcome.cappedFrom).toBe(7200)
    const lifetime = (Date.parse(outcome.session.expiresAt) - Date.parse(outcome.session.issuedAt)) / 1000
    expect(lifetime).toBe(15 * 60)
    expect(outcome.session.kind).toBe('break-glass')
    expect(outcome.review.state).toBe('filed')
    const { readFileSync } = await import('node:fs')
    expect((await introspect(broker, readFileSync(join(out, 'token'), 'utf8'), verifierToken)).active).toBe(false)
    // Every event of the session is high severity.
    const events = await broker.withStore((store) => store.auditLog.events({ sessionId: outcome.session.id }))
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['break-glass.opened', 'session.issued', 'session.revoked', 'review.due', 'review.filed']))
    expect(events.every((e) => e.severity === 'high')).toBe(true)
  })
})

describe('the review gate', () => {
  it('blocks every kind of new session, from any device of the user, until the review is filed', async () => {
    const rita = await enroll('rita', ['technician'])
    const ritaLaptop = await enroll('rita', ['technician'])
    const opened = await jit([...openArgs(), '--json', '--', 'true'], { home: rita })
    expect(opened.code).toBe(0)
    const reviewId = opened.json().review.id
    expect(opened.json().review.state).toBe('due')

    const attempts: string[][] = [
      ['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--reason', 'x'],
      ['exec', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--', 'true'],
      ['break-glass', '--asset', PLC, '--reason', 'again'],
      ['drill', '--asset', PLC, '--review-file', reviewFile],
    ]
    for (const home of [rita, ritaLaptop]) {
      for (const args of attempts) {
        const result = await jit([...args, '--json'], { home })
        expect(result.code, `${args[0]} from ${home === rita ? 'first' : 'second'} device`).toBe(7)
      }
    }
    const blocked = await jit([...attempts[0], '--json'], { home: ritaLaptop })
    expect(blocked.json().error.nextSteps.join(' ')).toContain(`jit review ${reviewId}`)

    // Unattended, jit review without --file fails naming the flag and files nothing.
    const noFile = await jit(['review', reviewId, '--json'], { home: rita })
    expect(noFile.code).toBe(2)
    expect(noFile.json().error.nextSteps.join(' ')).toMatch(/--file/)
    expect((await jit([...attempts[0], '--json'], { home: rita })).code).toBe(7)

    const filed = await jit(['review', reviewId, '--file', reviewFile, '--json'], { home: ritaLaptop })
    expect(filed.code).toBe(0)
    expect(filed.json().review).toMatchObject({ state: 'filed', answers: { whatWasDone: 'restarted the PLC runtime', rollbackNeeded: false, followUpTicket: 'WO-104299' } })
    expect((await jit([...attempts[0], '--json'], { home: rita })).code).toBe(0)
  })

  it('a review file with a missing answer is refused before anything opens', async () => {
    const bad = join(files, 'bad.yaml')
    writeFileSync(bad, 'what_was_done: x\nrollback_needed: maybe\n')
    const vera = await enroll('vera', ['technician'])
    const result = await jit([...openArgs(), '--review-file', bad, '--json', '--', 'true'], { home: vera })
    expect(result.code).toBe(2)
    expect(result.json().error.message).toMatch(/whyNotNormalPath, changesToAsset/)
    expect(await broker.withStore((store) => store.sessions.list({ user: 'vera' }))).toEqual([])
  })
})

describe('sign-off', () => {
  it('security signs off a filed review; nobody signs off their own; others cannot sign off at all', async () => {
    const tina = await enroll('tina', ['technician', 'security'])
    const sec = await enroll('sol', ['security'])
    const opened = await jit([...openArgs(), '--review-file', reviewFile, '--json', '--', 'true'], { home: tina })
    const reviewId = opened.json().review.id

    const pending = await jit(['reviews', '--pending', '--json'], { home: sec })
    expect(pending.json().reviews.map((r: { id: string }) => r.id)).toContain(reviewId)

    const own = await jit(['review', 'sign-off', reviewId, '--json'], { home: tina })
    expect(own.code).toBe(3)
    expect(own.json().error.reasons).toContain('nobody signs off their own review')
    const tom = await enroll('tomas', ['technician'])
    const notSecurity = await jit(['review', 'sign-off', reviewId, '--json'], { home: tom })
    // A technician is told what is missing, the same for a review that does not exist: it reveals nothing.
    expect(notSecurity.code).toBe(3)
    expect(notSecurity.json().error.reasons).toEqual(['sign-off needs the security role; you have technician'])
    const noSuch = await jit(['review', 'sign-off', 'rev_nonexistent', '--json'], { home: tom })
    expect(noSuch.json().error.reasons).toEqual(['sign-off needs the security role; you have technician'])
    // An admin sees every review, but signing off is security's job.
    const ada = await enroll('ada', ['admin'])
    const byAdmin = await jit(['review', 'sign-off', reviewId, '--json'], { home: ada })
    expect(byAdmin.code).toBe(3)
    expect(byAdmin.json().error.reasons).toEqual(['sign-off needs the security role; you have admin'])

    const signed = await jit(['review', 'sign-off', reviewId, '--comment', 'checked on site', '--json'], { home: sec })
    expect(signed.code).toBe(0)
    expect(signed.json().review).toMatchObject({ state: 'signed-off', signedOffBy: 'sol', signOffComment: 'checked on site' })
    const again = await jit(['review', 'sign-off', reviewId, '--json'], { home: sec })
    expect(again.code).toBe(2)
  })
})

describe('drills', () => {
  it('runs every step unattended and exits 0 with a report', async () => {
    const dan = await enroll('dan', ['technician'])
    const result = await jit(['drill', '--asset', PLC, '--review-file', reviewFile, '--json'], { home: dan })
    expect(result.code).toBe(0)
    const report = result.json()
    expect(report.passed).toBe(true)
    expect(report.steps.map((s: { name: string }) => s.name)).toEqual(['read review file', 'open break-glass (drill)', 'credential is active (introspection)', 'revoke', 'credential is dead (introspection)', 'file review'])
    expect(report.steps.every((s: { ok: boolean; ms: number }) => s.ok && s.ms >= 0)).toBe(true)
    expect(report.timeToAccessMs).toBeGreaterThan(0)
    const session = await broker.withStore((store) => store.sessions.get(report.sessionId))
    expect(session).toMatchObject({ kind: 'drill', state: 'revoked' })
    // The drill left its user free to work.
    expect((await jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--reason', 'x', '--json'], { home: dan })).code).toBe(0)
  })

  it('a failing step makes the drill exit non-zero, names the step, and still revokes and files', async () => {
    const dora = await enroll('dora', ['technician'])
    const result = await jit(['drill', '--asset', PLC, '--review-file', reviewFile, '--probe', 'sh -c "exit 3"', '--json'], { home: dora })
    expect(result.code).not.toBe(0)
    const report = result.json()
    expect(report.passed).toBe(false)
    const failed = report.steps.filter((s: { ok: boolean; skipped?: boolean }) => !s.ok && !s.skipped)
    expect(failed.map((s: { name: string }) => s.name)).toEqual(['probe: sh -c "exit 3"'])
    expect(report.steps.find((s: { name: string }) => s.name === 'revoke').ok).toBe(true)
    expect(report.steps.find((s: { name: string }) => s.name === 'file review').ok).toBe(true)
  })

  it('a revoke the broker does not answer goes to the revocation journal, as every revoke from a device does, and is confirmed later', async () => {
    // Dina's device knows the broker only through a relay that can drop chosen calls.
    const relay = await startRelay(Number(new URL(broker.url).port), await freePort())
    const dina = tempDir('jit-dina-')
    homes.push(dina)
    try {
      const code = await broker.withStore(async (store) => {
        await addUser(store, { name: 'dina', roles: ['technician'], disabled: false })
        return (await enrollmentCode(store, 'dina', 600)).code
      })
      const login = await jit(['login', '--broker', relay.url, '--json'], { home: dina, env: { JIT_ENROLL_CODE: code } })
      expect(login.code, login.stderr).toBe(0)
      relay.drop = (line) => /^POST \/v1\/sessions\/[^/]+\/revoke /.test(line)
      const result = await jit(['drill', '--asset', PLC, '--review-file', reviewFile, '--json'], { home: dina })
      expect(result.code, result.stderr).toBe(5)
      const report = result.json()
      const revoke = report.steps.find((s: { name: string }) => s.name === 'revoke')
      expect(revoke).toMatchObject({ ok: false, detail: expect.stringMatching(/queued in the revocation journal/) })
      expect(relay.dropped).toHaveLength(1)
      const journal = JSON.parse(readFileSync(join(dina, 'revocation-journal.json'), 'utf8')) as { sessionId: string; broker: string }[]
      expect(journal).toEqual([expect.objectContaining({ sessionId: report.sessionId, broker: relay.url })])
      expect(await broker.withStore((store) => store.sessions.get(report.sessionId))).toMatchObject({ state: 'active' })

      relay.drop = () => false
      const retried = await jit(['revoke', '--pending', '--json'], { home: dina })
      expect(retried.code, retried.stderr).toBe(0)
      expect(retried.json().confirmed.map((e: { sessionId: string }) => e.sessionId)).toEqual([report.sessionId])
      expect(await broker.withStore((store) => store.sessions.get(report.sessionId))).toMatchObject({ state: 'revoked' })
      expect(existsSync(join(dina, 'revocation-journal.json'))).toBe(false)
    } finally {
      await relay.kill()
    }
  })
})
