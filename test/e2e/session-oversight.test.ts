// Sessions seen and ended by others than their holder. The shift lead who approved a session and
// the members of its asset's owner group may see it (`jit sessions show`) and end it (`jit
// revoke`); the end names who ended it and by what right. Anyone else is told "not allowed"
// (exit 3) and nothing about the session; a session that does not exist is "not found" (exit 2).
// Security and admin list every live session (`jit sessions --all`); an owner group's members
// those on the assets their group owns (`--all`, `--asset PATTERN`); a technician is not allowed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PLC, cleanup, jit, startBroker, type TestBroker } from './harness.js'
import { auditOf, sessionRow } from './revocation-helpers.js'

const HMI = 'plant-a/line-3/cell-2/hmi-01'
let broker: TestBroker
let tess: string
let tom: string
let sam: string
let olga: string
let sec: string
const homes: string[] = []

beforeAll(async () => {
  broker = await startBroker()
  await broker.addAsset(HMI, { state: 'running', owner: 'line3-owners' })
  ;[tess, tom, sam, olga, sec] = await Promise.all([
    broker.enroll('tess', ['technician']),
    broker.enroll('tom', ['technician']),
    broker.enroll('sam', ['shift-lead']),
    broker.enroll('olga', ['line3-owners']),
    broker.enroll('sid', ['security']),
  ])
  homes.push(tess, tom, sam, olga, sec)
})

afterAll(async () => {
  await broker.stop()
  cleanup(broker.dataDir, ...homes)
})

/** A control session on the PLC that sam approved, collected by tess. */
async function approvedSession(reason: string): Promise<string> {
  const pending = await jit(['request', '--ticket', 'WO-104233', '--asset', PLC, '--scope', 'control', '--ttl', '20m', '--reason', reason, '--no-wait', '--json'], { home: tess })
  expect(pending.code, pending.stderr).toBe(8)
  const requestId = pending.json().error.requestId as string
  expect((await jit(['approve', requestId, '--comment', 'line stopped'], { home: sam })).code).toBe(0)
  const picked = await jit(['sessions', 'pickup', requestId, '--json'], { home: tess })
  expect(picked.code, picked.stderr).toBe(0)
  return picked.json().session.id as string
}

describe('who may see and end a session that is not theirs', () => {
  it('the shift lead who approved it sees it and ends it; the end and its audit record name the lead', async () => {
    const id = await approvedSession('recipe change')
    const shown = await jit(['sessions', 'show', id, '--json'], { home: sam })
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.json().session).toMatchObject({ id, user: 'tess', asset: PLC, state: 'active' })

    const ended = await jit(['revoke', id, '--reason', 'line restarts now', '--json'], { home: sam })
    expect(ended.code, ended.stderr).toBe(0)
    expect(ended.json().revoked[0]).toMatchObject({ id, state: 'revoked', endedBy: 'sam' })
    expect(await sessionRow(broker, id)).toMatchObject({ state: 'revoked', ended_by: 'sam', end_reason: 'line restarts now' })
    const end = (await auditOf(broker, id)).find((e) => e.type === 'session.revoked')
    expect(end).toMatchObject({ actor: 'sam', data: { reason: 'line restarts now', authority: 'approver' } })
    // The holder's own view of it says who ended it.
    const told = await jit(['sessions', 'show', id, '--json'], { home: tess })
    expect(told.json().ended).toMatchObject({ by: 'sam', reason: 'line restarts now', state: 'revoked' })
  })

  it('a member of the asset\'s owner group sees and ends a session on it', async () => {
    const opened = await jit(['request', '--ticket', 'WO-104233', '--asset', HMI, '--scope', 'read', '--ttl', '20m', '--reason', 'check alarms', '--json'], { home: tess })
    expect(opened.code, opened.stderr).toBe(0)
    const id = opened.json().session.id as string
    expect((await jit(['sessions', 'show', id, '--json'], { home: olga })).code).toBe(0)
    // Not the owner group of the PLC: olga is not allowed there.
    const plc = await approvedSession('not olga\'s asset')
    expect((await jit(['sessions', 'show', plc, '--json'], { home: olga })).code).toBe(3)
    expect((await jit(['revoke', plc, '--json'], { home: tess })).code).toBe(0)

    const ended = await jit(['revoke', id, '--reason', 'alarm storm', '--json'], { home: olga })
    expect(ended.code, ended.stderr).toBe(0)
    expect(await sessionRow(broker, id)).toMatchObject({ state: 'revoked', ended_by: 'olga' })
    expect((await auditOf(broker, id)).find((e) => e.type === 'session.revoked')).toMatchObject({ actor: 'olga', data: { authority: 'owner-group' } })
  })

  it('another technician is told "not allowed" (exit 3) and nothing about it, and the session lives on; an unknown id is not found (exit 2)', async () => {
    const id = await approvedSession('tess works alone')
    for (const args of [['sessions', 'show', id], ['revoke', id, '--reason', 'mine now']]) {
      const refused = await jit([...args, '--json'], { home: tom })
      expect(refused.code, refused.stdout).toBe(3)
      expect(refused.json().error.message).toBe(`Session ${id}: not allowed.`)
      for (const secret of ['tess', PLC, 'WO-104233', 'control', 'sam']) expect(refused.stdout + refused.stderr).not.toContain(secret)
      const human = await jit(args, { home: tom })
      expect(human.code).toBe(3)
      expect(human.stderr).toContain('not allowed')
    }
    expect(await sessionRow(broker, id)).toMatchObject({ state: 'active', ended_by: null })
    expect((await auditOf(broker, id)).map((e) => e.type)).not.toContain('session.revoked')

    const unknown = await jit(['revoke', 'ses_doesnotexist', '--json'], { home: sam })
    expect(unknown.code).toBe(2)
    expect(unknown.json().error.message).toBe('Session ses_doesnotexist was not found.')
    expect((await jit(['revoke', id], { home: tess })).code).toBe(0)
  })
})

describe('jit sessions --all and --asset: the live sessions of the plant', () => {
  it('security sees every live session with who, asset, scope, ticket, started and ends; an owner group\'s members those on their assets; a technician is not allowed', async () => {
    const onHmi = await jit(['request', '--ticket', 'WO-104233', '--asset', HMI, '--scope', 'read', '--ttl', '20m', '--reason', 'alarms', '--json'], { home: tess })
    const onPlc = await jit(['request', '--ticket', 'WO-104234', '--asset', PLC, '--scope', 'diagnose', '--ttl', '30m', '--reason', 'drive fault', '--json'], { home: tom })
    const ended = await jit(['request', '--ticket', 'WO-104235', '--asset', PLC, '--scope', 'read', '--ttl', '20m', '--reason', 'over', '--json'], { home: tom })
    for (const r of [onHmi, onPlc, ended]) expect(r.code, r.stderr).toBe(0)
    const [hmiId, plcId, endedId] = [onHmi, onPlc, ended].map((r) => r.json().session.id as string)
    expect((await jit(['revoke', endedId], { home: tom })).code).toBe(0)

    const all = await jit(['sessions', '--all', '--json'], { home: sec })
    expect(all.code, all.stderr).toBe(0)
    const listed = all.json().sessions as { id: string; user: string; asset: string; scope: string; ticket: string; issuedAt: string; expiresAt: string }[]
    const ids = listed.map((s) => s.id)
    expect(ids).toEqual(expect.arrayContaining([hmiId, plcId]))
    expect(ids).not.toContain(endedId)
    const plc = listed.find((s) => s.id === plcId)!
    expect(plc).toMatchObject({ user: 'tom', asset: PLC, scope: 'diagnose', ticket: 'WO-104234' })
    expect(Date.parse(plc.expiresAt) - Date.parse(plc.issuedAt)).toBe(30 * 60 * 1000)
    // The security reviewer's own listing is untouched: their own sessions only (none).
    expect((await jit(['sessions', '--json'], { home: sec })).json().sessions).toEqual([])

    const human = await jit(['sessions', '--all'], { home: sec })
    expect(human.code).toBe(0)
    for (const column of ['who', 'asset', 'scope', 'ticket', 'started', 'ends']) expect(human.stdout).toContain(column)
    expect(human.stdout).toMatch(new RegExp(`${plcId}.*tom.*${PLC.replace(/\//g, '\\/')}.*diagnose.*WO-104234`))

    const pattern = await jit(['sessions', '--asset', 'plant-a/line-3/cell-2/hmi-*', '--json'], { home: sec })
    expect(pattern.json().sessions.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining([hmiId]))
    expect(pattern.json().sessions.map((s: { asset: string }) => s.asset).every((a: string) => a === HMI)).toBe(true)

    // Olga's group owns the HMI, not the PLC: she sees the one and never the other.
    for (const args of [['--all'], ['--asset', 'plant-a/**']]) {
      const owner = await jit(['sessions', ...args, '--json'], { home: olga })
      expect(owner.code, owner.stderr).toBe(0)
      const seen = owner.json().sessions as { id: string; asset: string }[]
      expect(seen.map((s) => s.id)).toContain(hmiId)
      expect(seen.every((s) => s.asset === HMI)).toBe(true)
    }

    for (const args of [['--all'], ['--asset', 'plant-a/**']]) {
      const refused = await jit(['sessions', ...args, '--json'], { home: tom })
      expect(refused.code).toBe(3)
      expect(refused.json().error.message).toBe('Listing live sessions is not allowed.')
    }
    const bad = await jit(['sessions', '--asset', 'plant-a/**/x', '--json'], { home: sec })
    expect(bad.code).toBe(2)
    expect(bad.json().error.message).toMatch(/asset pattern .* is not valid/)
    for (const [id, home] of [[hmiId, tess], [plcId, tom]]) expect((await jit(['revoke', id], { home })).code).toBe(0)
  })
})
