// The broker as SSH CA on a real SQLite store, with the clock moved instead of waited for: who
// gets a certificate, what it says, what is audited, what the KRL lists and for how long, and a
// rotation with its overlap.
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../../../src/broker/api-error.js'
import type { Actor, BrokerContext } from '../../../../src/broker/context.js'
import { createRequest } from '../../../../src/broker/requests.js'
import { revokeSession } from '../../../../src/broker/sessions.js'
import { SshAuthority } from '../../../../src/broker/ssh-ca/authority.js'
import { activateNextCaKey, announceNextCaKey } from '../../../../src/broker/ssh-ca/admin.js'
import { KrlPublisher } from '../../../../src/broker/ssh-ca/krl.js'
import { BACKDATE_SECONDS, issueSshCertificate } from '../../../../src/broker/ssh-ca/sign.js'
import { ed25519Blob, publicKeyLine } from '../../../../src/util/ssh-wire.js'
import { testContext, type TestContext } from '../test-context.js'

const POLICY = `
version: 1
tickets: { formats: [{ system: workorder, pattern: '^WO-[0-9]{6}$' }] }
rules:
  - { name: work, who: { roles: [technician] }, assets: ['plant-a/**'], scopes: [diagnose, control], max_ttl: 1h }
`
const JUMP = 'plant-a/line-3/jump-01'
const PLC = 'plant-a/line-3/plc-07'

let t: TestContext
let ctx: BrokerContext
let ca: SshAuthority
let tess: Actor
let dir: string

beforeEach(async () => {
  t = await testContext(POLICY, Date.parse('2026-11-30T10:00:00Z'))
  ctx = t.ctx
  ca = new SshAuthority(t.sqlite.dataDir, ctx.store)
  tess = await t.actor('tess', ['technician'])
  await t.ctx.store.assets.upsert({ path: JUMP, attributes: { state: 'running', ssh: { host: 'jump-01.plant-a.example:2222', principals: ['maint', 'ops'] } } })
  await t.ctx.store.assets.upsert({ path: PLC, attributes: { state: 'running' } })
  dir = mkdtempSync(join(tmpdir(), 'jit-ssh-unit-'))
})

afterEach(() => {
  t.close()
  rmSync(dir, { recursive: true, force: true })
})

const open = async (asset = JUMP, scope = 'diagnose', who = tess) =>
  (await createRequest(ctx, who, { ticket: 'WO-000001', asset, scope, ttlSeconds: 600, reason: 'test' })).result.grant!.session
const newKey = () => publicKeyLine(ed25519Blob(generateKeyPairSync('ed25519').publicKey))
const sign = (sessionId: string, actor = tess, publicKey = newKey()) => issueSshCertificate(ctx, ca, actor, { sessionId, publicKey })

async function refusal(fn: () => Promise<unknown>): Promise<ApiError> {
  try {
    await fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError)
    return error as ApiError
  }
  throw new Error('expected a refusal')
}

const eventsOf = async (type: string) => (await t.ctx.store.auditLog.events({})).filter((e) => e.type === type)

describe('issueSshCertificate', () => {
  it('certifies the key for the session: key id, principals and endpoint of the asset, valid no longer than the session', async () => {
    const session = await open()
    const cert = await sign(session.id)
    const nowEpoch = Date.parse('2026-11-30T10:00:00Z') / 1000
    expect(cert).toMatchObject({
      keyId: session.id,
      principals: ['maint', 'ops'],
      host: 'jump-01.plant-a.example',
      port: 2222,
      validAfter: new Date((nowEpoch - BACKDATE_SECONDS) * 1000).toISOString(),
      validBefore: session.expiresAt,
      extensions: ['permit-pty'],
      caFingerprint: ca.current().fingerprint,
    })
    expect(cert.certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com AAAA\S+ ses_/)
    // ssh-keygen agrees.
    const file = join(dir, 'c-cert.pub')
    writeFileSync(file, `${cert.certificate}\n`)
    const listing = execFileSync('ssh-keygen', ['-L', '-f', file], { encoding: 'utf8' })
    expect(listing).toContain(`Key ID: "${session.id}"`)
    expect(listing).toContain(`Serial: ${cert.serial}`)
  })

  it('names the asset\'s gateway when it has one, so that jit ssh goes through it', async () => {
    expect((await sign((await open()).id)).gateway).toBeUndefined()
    await t.ctx.store.assets.upsert({ path: JUMP, attributes: { state: 'running', gateway: 'gw-line-3', endpoint: '10.3.2.9:22', ssh: { host: 'jump-01.plant-a.example:2222', principals: ['maint'] } } })
    expect(await sign((await open()).id)).toMatchObject({ gateway: 'gw-line-3', host: 'jump-01.plant-a.example', port: 2222 })
  })

  it('gives every certificate a new serial, and audits each with its facts but no key material', async () => {
    const session = await open()
    const serials = [(await sign(session.id)).serial, (await sign(session.id)).serial, (await sign((await open()).id)).serial]
    expect(serials).toEqual([...serials].sort((a, b) => a - b))
    expect(new Set(serials).size).toBe(3)
    const issued = (await eventsOf('ssh.certificate.issued'))
    expect(issued.map((e) => e.data.serial)).toEqual(serials)
    expect(issued[0]).toMatchObject({ actor: 'tess', sessionId: session.id, data: { keyId: session.id, principals: ['maint', 'ops'], validBefore: session.expiresAt, caFingerprint: ca.current().fingerprint } })
    expect(issued[0].data.keyFingerprint).toMatch(/^SHA256:/)
    expect(JSON.stringify(issued)).not.toMatch(/AAAA|PRIVATE/)
  })

  it('gives look-only scopes a terminal only, and control port forwarding too; never agent or X11 forwarding', async () => {
    expect((await sign((await open(JUMP, 'diagnose')).id)).extensions).toEqual(['permit-pty'])
    expect((await sign((await open(JUMP, 'control')).id)).extensions).toEqual(['permit-port-forwarding', 'permit-pty'])
  })

  it('refuses a malformed key with 400, before anything is recorded', async () => {
    const session = await open()
    const before = (await t.ctx.store.auditLog.events({})).length
    for (const publicKey of ['', 'ssh-ed25519', 'ssh-rsa AAAAB3NzaC1yc2E=', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==']) {
      expect(await refusal(() => sign(session.id, tess, publicKey))).toMatchObject({ status: 400, code: 'bad-input' })
    }
    expect((await t.ctx.store.auditLog.events({})).length).toBe(before)
  })

  it('only for the device that holds the session', async () => {
    const session = await open()
    const otherLaptop = { user: tess.user, deviceId: (await t.actor('tess', ['technician'])).deviceId }
    expect(await refusal(() => sign(session.id, otherLaptop))).toMatchObject({ status: 403 })
    const tom = await t.actor('tom', ['technician'])
    expect(await refusal(() => sign(session.id, tom))).toMatchObject({ status: 404 })
  })

  it('only while the session is active: not after revoke, not after expiry', async () => {
    const revoked = await open()
    await revokeSession(ctx, tess, revoked.id, 'done')
    expect(await refusal(() => sign(revoked.id))).toMatchObject({ status: 409 })
    const expiring = await open()
    t.clock.now += 600_000
    expect(await refusal(() => sign(expiring.id))).toMatchObject({ status: 409 })
  })

  it('not for an asset without an SSH endpoint and principals', async () => {
    expect(await refusal(async () => sign((await open(PLC)).id))).toMatchObject({ status: 422, code: 'bad-input' })
    await t.ctx.store.assets.upsert({ path: JUMP, attributes: { state: 'running', ssh: { host: 'jump-01', principals: ['bad principal'] } } })
    expect(await refusal(async () => sign((await open()).id))).toMatchObject({ status: 422 })
  })
})

describe('the KRL', () => {
  it('lists the certificates of ended sessions until they expire, and audits each revocation once', async () => {
    const krl = new KrlPublisher(ctx.store, ca, ctx.now)
    const live = await open()
    const ended = await open()
    const liveCert = await sign(live.id)
    const endedCerts = [await sign(ended.id), await sign(ended.id)]
    expect(krlText(await krl.current())).not.toMatch(/serial|id:/)
    await revokeSession(ctx, tess, ended.id, 'done')
    const text = krlText(await krl.current())
    expect(text).toContain(`id: ${ended.id}`)
    expect(text).not.toContain(live.id)
    expect(text).toMatch(new RegExp(`serial: ${endedCerts[0].serial}-${endedCerts[1].serial}|serial: ${endedCerts[0].serial}\\n`))
    expect(text).not.toMatch(new RegExp(`serial: ${liveCert.serial}$`, 'm'))
    await krl.current()
    const revoked = (await eventsOf('ssh.certificate.revoked'))
    expect(revoked.map((e) => e.data.serial)).toEqual(endedCerts.map((c) => c.serial))
    expect(revoked[0]).toMatchObject({ actor: 'broker', sessionId: ended.id, data: { keyId: ended.id, principals: ['maint', 'ops'] } })
    // Past their validity the certificates are dead anyway and leave the list.
    t.clock.now += 601_000
    expect(krlText(await krl.current())).not.toContain(ended.id)
  })
})

describe('rotation', () => {
  const fingerprints = async () => (await ca.trusted(Math.floor(ctx.now() / 1000))).map((k) => k.fingerprint)

  it('announces the next key before it signs, then keeps the old key trusted and in the KRL while its certificates live', async () => {
    const old = ca.current().fingerprint
    const before = await open()
    const oldCert = await sign(before.id)
    const { next } = await announceNextCaKey(ctx.store, ctx.dataDir, 'operator:test')
    // Published at once, signing nothing yet: hosts can learn it before any certificate needs it.
    expect(await fingerprints()).toEqual([old, next])
    expect((await sign((await open()).id)).caFingerprint).toBe(old)
    expect((await announceNextCaKey(ctx.store, ctx.dataDir, 'operator:test')).next).toBe(next)

    const activated = await activateNextCaKey(ctx.store, ctx.dataDir, 'operator:test', ctx.now)
    expect(activated).toMatchObject({ step: 'activated', current: next, previous: old, previousTrustedUntil: before.expiresAt })
    expect((await sign((await open()).id)).caFingerprint).toBe(next)
    expect(await fingerprints()).toEqual([next, old])

    await revokeSession(ctx, tess, before.id, 'done')
    const text = krlText(await new KrlPublisher(ctx.store, ca, ctx.now).current())
    expect(text).toContain(`# CA key ssh-ed25519 ${old}\nserial: ${oldCert.serial}`)

    // Another rotation may be announced, but not activated while the old key's certificates live.
    const third = (await announceNextCaKey(ctx.store, ctx.dataDir, 'operator:test')).next!
    expect(await fingerprints()).toEqual([next, third, old])
    await expect(activateNextCaKey(ctx.store, ctx.dataDir, 'operator:test', ctx.now)).rejects.toThrow(/still has certificates valid until/)

    t.clock.now += 601_000
    expect(await fingerprints()).toEqual([next, third])
    expect(await activateNextCaKey(ctx.store, ctx.dataDir, 'operator:test', ctx.now)).toMatchObject({ current: third, previous: next })
    expect((await eventsOf('ssh.ca.next-announced')).map((e) => e.data.next)).toEqual([next, third])
    expect((await eventsOf('ssh.ca.rotated')).map((e) => e.data.current)).toEqual([next, third])
  })

  it('activating with no announced key is refused and changes nothing', async () => {
    const current = ca.current().fingerprint
    await expect(activateNextCaKey(ctx.store, ctx.dataDir, 'operator:test', ctx.now)).rejects.toThrow(/No next SSH CA key/)
    expect(await fingerprints()).toEqual([current])
  })
})

function krlText(krl: Buffer): string {
  const file = join(dir, `krl-${Math.random().toString(36).slice(2)}`)
  writeFileSync(file, krl)
  return execFileSync('ssh-keygen', ['-Q', '-l', '-f', file], { encoding: 'utf8' })
}
