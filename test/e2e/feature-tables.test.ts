// The feature modules' own tables on both stores (the embedded SQLite file and a real PostgreSQL,
// started by ./postgres.ts): SSH certificates, the ticket register and its replay cache of events,
// verifiers' checks, gateways, reviews and the outbox. Each repository runs the same portable SQL
// on both; the clock is fractional where the broker's is (ctx.now() / 1000), which PostgreSQL
// refuses against a BIGINT column unless the SQL casts it.
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/broker/api-error.js'
import { ReviewStore } from '../../src/broker/breakglass/review-store.js'
import { CONNECTION_CLOSED, CONNECTION_OPENED, recordConnectionEvent } from '../../src/broker/gateway/connection-records.js'
import { announceGateway, gatewayForAsset } from '../../src/broker/gateway/gateways.js'
import { CertificateStore } from '../../src/broker/ssh-ca/cert-store.js'
import type { SessionRecord } from '../../src/broker/store/records.js'
import type { Store } from '../../src/broker/store/store.js'
import { TicketRegister } from '../../src/broker/tickets/register.js'
import { recordVerification, verificationsOf } from '../../src/broker/verifications.js'
import { storesForTests } from './stores-for-tests.js'

const stores = storesForTests()
const postgres = (): Promise<Store> => stores.postgres()
const sqlite = async (): Promise<Store> => stores.sqlite()

/** The broker's clock in seconds, with the fraction it has between two ticks. */
const NOW = 1_800_000_000.25
const clock = () => NOW * 1000
const ASSET = 'plant-a/line-3/plc-07'

function session(id: string, ticket: string, expiresAtEpoch: number, kind: SessionRecord['kind'] = 'standard'): SessionRecord {
  return {
    id,
    requestId: `req_${id}`,
    user: 'tess',
    deviceId: 'dev_1',
    asset: ASSET,
    ticket,
    scope: 'maintain',
    kind,
    jti: `jti_${id}`,
    issuedAtEpoch: Math.floor(NOW) - 60,
    expiresAtEpoch,
    issuedAt: '',
    expiresAt: '',
    state: 'active',
    cacheAllowed: false,
  }
}

const certificate = (sessionId: string, caFingerprint: string, validBefore: number) => ({
  sessionId,
  keyId: sessionId,
  caFingerprint,
  principals: ['maint', 'ops'],
  validAfter: Math.floor(NOW) - 30,
  validBefore,
  keyFingerprint: 'SHA256:user-key',
})

const auditTypes = async (store: Store) => (await store.auditLog.events({ limit: 1000 })).map((e) => e.type)

describe.each([
  ['SQLite', sqlite],
  ['PostgreSQL', postgres],
])('%s store', (_name, open) => {
  it('SSH certificates: serials handed out in order, the KRL lists what ended and has not expired, revocations audited once', async () => {
    const store = await open()
    const certificates = new CertificateStore(store)
    await store.sessions.insert(session('ses_live', 'WO-1', Math.floor(NOW) + 3600))
    await store.sessions.insert(session('ses_ended', 'WO-1', Math.floor(NOW) + 3600))
    await store.sessions.insert(session('ses_old', 'WO-1', Math.floor(NOW) + 3600))
    const live = await store.transaction(() => certificates.insert(certificate('ses_live', 'SHA256:ca-1', Math.floor(NOW) + 3600), '2027-01-15T08:00:00.000Z'))
    const ended = await store.transaction(() => certificates.insert(certificate('ses_ended', 'SHA256:ca-1', Math.floor(NOW) + 1800), '2027-01-15T08:00:01.000Z'))
    const expired = await store.transaction(() => certificates.insert(certificate('ses_old', 'SHA256:ca-2', Math.floor(NOW)), '2027-01-15T08:00:02.000Z'))
    expect(typeof live).toBe('number')
    expect(ended).toBeGreaterThan(live)
    expect(expired).toBeGreaterThan(ended)
    expect(await store.sessions.end('ses_ended', 'revoked', 'sam', 'done')).toBe(true)
    expect(await store.sessions.end('ses_old', 'revoked', 'sam', 'done')).toBe(true)

    const revoked = await certificates.revokedUnexpired(NOW)
    expect(revoked).toEqual([
      {
        serial: ended,
        sessionId: 'ses_ended',
        keyId: 'ses_ended',
        caFingerprint: 'SHA256:ca-1',
        principals: ['maint', 'ops'],
        validAfter: Math.floor(NOW) - 30,
        validBefore: Math.floor(NOW) + 1800,
        keyFingerprint: 'SHA256:user-key',
        revocationAudited: false,
      },
    ])
    expect(await certificates.markRevocationAudited(ended)).toBe(true)
    expect(await certificates.markRevocationAudited(ended)).toBe(false)
    expect((await certificates.revokedUnexpired(NOW))[0].revocationAudited).toBe(true)

    expect(await certificates.lastExpiryOf('SHA256:ca-1', NOW)).toBe(Math.floor(NOW) + 3600)
    // ca-2's only certificate ran out a quarter second ago.
    expect(await certificates.lastExpiryOf('SHA256:ca-2', NOW)).toBeUndefined()
    expect(await certificates.lastExpiryOf('SHA256:unknown', NOW)).toBeUndefined()
  })

  it('a signing that fails after its certificate row was written leaves no row behind', async () => {
    const store = await open()
    const certificates = new CertificateStore(store)
    await store.sessions.insert(session('ses_1', 'WO-1', Math.floor(NOW) + 3600))
    await store.sessions.end('ses_1', 'revoked', 'sam', 'done')
    const failed = await store
      .transaction(async (tx) => {
        await certificates.insert(certificate('ses_1', 'SHA256:ca-1', Math.floor(NOW) + 3600), '2027-01-15T08:00:00.000Z')
        await tx.appendAudit({ type: 'ssh.certificate.issued', actor: 'tess', sessionId: 'ses_1' })
        throw new Error('the signing key could not be read')
      })
      .catch((e: unknown) => e)
    expect((failed as Error).message).toBe('the signing key could not be read')
    expect(await certificates.revokedUnexpired(NOW)).toEqual([])
    expect(await certificates.lastExpiryOf('SHA256:ca-1', NOW)).toBeUndefined()
    expect(await auditTypes(store)).not.toContain('ssh.certificate.issued')
  })

  it('the ticket register: add once, close and reopen audited, and the sessions a closed ticket ends', async () => {
    const store = await open()
    const register = new TicketRegister(store)
    const added = await store.transaction(() => register.add({ id: 'WO-1', asset: ASSET, assignee: 'tess', title: 'Replace the encoder' }, 'olga'))
    expect(added).toMatchObject({ id: 'WO-1', asset: ASSET, assignee: 'tess', org: undefined, title: 'Replace the encoder', state: 'open', updatedBy: 'olga' })
    expect(await store.transaction(() => register.add({ id: 'WO-1', asset: ASSET, org: 'acme' }, 'olga'))).toBeUndefined()
    await store.transaction(() => register.add({ id: 'WO-2', asset: ASSET, org: 'acme' }, 'olga'))
    expect(await register.get('WO-1')).toEqual(added)
    expect(await register.get('WO-404')).toBeUndefined()

    await store.sessions.insert(session('ses_a', 'WO-1', Math.floor(NOW) + 3600))
    await store.sessions.insert(session('ses_b', 'WO-1', Math.floor(NOW) + 3600))
    await store.sessions.insert(session('ses_glass', 'WO-1', Math.floor(NOW) + 3600, 'break-glass'))
    await store.sessions.insert(session('ses_c', 'WO-2', Math.floor(NOW) + 3600))
    // Expired a quarter second ago, though no sweeper has marked it yet.
    await store.sessions.insert(session('ses_past', 'WO-1', Math.floor(NOW)))
    expect(await register.activeSessionsOf('WO-1', NOW)).toEqual(['ses_a', 'ses_b'])
    expect(await register.ticketsOfActiveSessions(NOW)).toEqual(['WO-1', 'WO-2'])
    expect(await register.hasSessions('WO-2')).toBe(true)
    expect(await register.hasSessions('WO-404')).toBe(false)
    expect(await register.sessionsOfClosedTickets(NOW)).toEqual([])

    const closed = await store.transaction(() => register.setState('WO-1', 'closed', 'olga', { via: 'test' }))
    expect(closed?.changed).toBe(true)
    expect(closed?.ticket).toMatchObject({ id: 'WO-1', state: 'closed', updatedBy: 'olga' })
    expect((await store.transaction(() => register.setState('WO-1', 'closed', 'olga')))?.changed).toBe(false)
    expect(await store.transaction(() => register.setState('WO-404', 'closed', 'olga'))).toBeUndefined()
    expect((await register.list({ state: 'closed' })).map((t) => t.id)).toEqual(['WO-1'])
    expect((await register.list()).map((t) => t.id)).toEqual(['WO-1', 'WO-2'])
    expect(await register.sessionsOfClosedTickets(NOW)).toEqual([
      { sessionId: 'ses_a', ticket: 'WO-1' },
      { sessionId: 'ses_b', ticket: 'WO-1' },
    ])
    await store.transaction(() => register.setState('WO-1', 'open', 'olga'))
    expect(await register.sessionsOfClosedTickets(NOW)).toEqual([])
    expect((await auditTypes(store)).filter((type) => type.startsWith('ticket.'))).toEqual(['ticket.added', 'ticket.added', 'ticket.closed', 'ticket.reopened'])
  })

  it('ticket events: a replay is refused until its entry expires', async () => {
    const store = await open()
    const register = new TicketRegister(store)
    const expires = Math.floor(NOW) + 600
    expect(await register.rememberEvent('servicenow', 'evt-1', expires, NOW)).toBe(true)
    expect(await register.rememberEvent('servicenow', 'evt-1', expires, NOW)).toBe(false)
    // The same id from another system is another event.
    expect(await register.rememberEvent('jira', 'evt-1', expires, NOW)).toBe(true)
    // Past its expiry the entry is forgotten (the timestamp check refuses such an old event first).
    expect(await register.rememberEvent('servicenow', 'evt-1', expires + 1200, expires + 0.5)).toBe(true)
  })

  it('a ticket event whose transaction rolls back leaves neither the ticket change, its audit record nor its replay entry', async () => {
    const store = await open()
    const register = new TicketRegister(store)
    await store.transaction(() => register.add({ id: 'WO-1', asset: ASSET, assignee: 'tess' }, 'olga'))
    const failed = await store
      .transaction(async () => {
        expect(await register.rememberEvent('servicenow', 'evt-9', Math.floor(NOW) + 600, NOW)).toBe(true)
        await register.setState('WO-1', 'closed', 'ticket-system:servicenow')
        await register.add({ id: 'WO-2', asset: ASSET, org: 'acme' }, 'ticket-system:servicenow')
        throw new Error('ending the sessions failed')
      })
      .catch((e: unknown) => e)
    expect((failed as Error).message).toBe('ending the sessions failed')
    expect((await register.get('WO-1'))?.state).toBe('open')
    expect(await register.get('WO-2')).toBeUndefined()
    expect((await auditTypes(store)).filter((type) => type.startsWith('ticket.'))).toEqual(['ticket.added'])
    expect(await register.rememberEvent('servicenow', 'evt-9', Math.floor(NOW) + 600, NOW)).toBe(true)
  })

  it('verifiers\' checks: one aggregate per session and verifier, audited on the first check and on each change of answer', async () => {
    const store = await open()
    const ctx = { store, now: clock }
    const live = session('ses_v', 'WO-1', Math.floor(NOW) + 3600)
    await store.sessions.insert(live)
    for (let i = 0; i < 3; i++) await recordVerification(ctx, live, 'gateway-3', true)
    await recordVerification(ctx, live, 'jump-host', true)
    await recordVerification(ctx, live, 'gateway-3', false)
    expect(await verificationsOf(store, 'ses_v')).toEqual([
      { verifier: 'gateway-3', firstAt: '2027-01-15T08:00:00.250Z', lastAt: '2027-01-15T08:00:00.250Z', checks: 4, lastActive: false },
      { verifier: 'jump-host', firstAt: '2027-01-15T08:00:00.250Z', lastAt: '2027-01-15T08:00:00.250Z', checks: 1, lastActive: true },
    ])
    const verified = (await store.auditLog.events({ sessionId: 'ses_v' })).filter((e) => e.type === 'session.verified')
    expect(verified.map((e) => [e.actor, e.data.active])).toEqual([
      ['verifier:gateway-3', true],
      ['verifier:jump-host', true],
      ['verifier:gateway-3', false],
    ])
    expect((await store.sessions.get('ses_v', NOW))?.lastVerifiedAt).toBeDefined()
    expect(await verificationsOf(store, 'ses_none')).toEqual([])
  })

  it('gateways: the latest announcement is where devices connect; connections are recorded only for assets the gateway fronts, each once', async () => {
    const store = await open()
    const ctx = { store, now: clock }
    await store.assets.upsert({ path: ASSET, attributes: { gateway: 'gw-1', endpoint: '10.0.3.7:502' } })
    await store.assets.upsert({ path: 'plant-a/line-3/hmi-01', attributes: {} })
    const unannounced = await gatewayForAsset(ctx, ASSET).catch((e: unknown) => e)
    expect(unannounced).toBeInstanceOf(ApiError)
    expect((unannounced as ApiError).status).toBe(404)

    await announceGateway(ctx, 'gw-1', { address: '10.0.0.5:7443', certSha256: 'a'.repeat(64) })
    await announceGateway(ctx, 'gw-1', { address: '10.0.0.6:7443', certSha256: 'b'.repeat(64) })
    expect(await gatewayForAsset(ctx, ASSET)).toEqual({ asset: ASSET, gateway: 'gw-1', address: '10.0.0.6:7443', certSha256: 'b'.repeat(64) })
    expect(((await gatewayForAsset(ctx, 'plant-a/line-3/hmi-01').catch((e: unknown) => e)) as ApiError).status).toBe(404)

    await store.sessions.insert(session('ses_g', 'WO-1', Math.floor(NOW) + 3600))
    const opened = { connectionId: 'con_1', sessionId: 'ses_g', asset: ASSET, from: '10.0.9.9:50000', startedAt: '2027-01-15T08:00:00.000Z' }
    const record = { ...opened, endedAt: '2027-01-15T08:05:00.000Z', bytesToAsset: 10, bytesFromAsset: 20, endCause: 'client-closed' as const }
    const first = await recordConnectionEvent(ctx, 'gw-1', CONNECTION_OPENED, opened)
    const recorded = await recordConnectionEvent(ctx, 'gw-1', CONNECTION_CLOSED, record)
    expect(recorded.recorded).toBe(true)
    // A gateway that resends after a restart gets the first records' numbers; nothing is added.
    expect(await recordConnectionEvent(ctx, 'gw-1', CONNECTION_OPENED, opened)).toEqual(first)
    expect(await recordConnectionEvent(ctx, 'gw-1', CONNECTION_CLOSED, record)).toEqual(recorded)
    // "_" is a LIKE wildcard: an id that differs only there is another connection.
    const other = await recordConnectionEvent(ctx, 'gw-1', CONNECTION_OPENED, { ...opened, connectionId: 'conX1' })
    const refused = await recordConnectionEvent(ctx, 'gw-2', CONNECTION_CLOSED, record).catch((e: unknown) => e)
    expect((refused as ApiError).status).toBe(400)
    const events = await store.auditLog.events({ sessionId: 'ses_g' })
    expect(events.map((e) => [e.type, e.seq])).toEqual([['gateway.connection.opened', first.seq], ['gateway.connection', recorded.seq], ['gateway.connection.opened', other.seq]])
    expect((await auditTypes(store)).filter((type) => type === 'gateway.announced')).toHaveLength(2)
  })

  it('reviews and the outbox (already on portable SQL): due times, filing once, overdue flags, deliveries', async () => {
    const store = await open()
    const reviews = new ReviewStore(store)
    await store.sessions.insert(session('ses_r', 'WO-1', Math.floor(NOW) + 3600, 'break-glass'))
    await reviews.insert({ id: 'rev_1', sessionId: 'ses_r', user: 'tess', asset: ASSET, kind: 'break-glass', dueAtEpoch: Math.floor(NOW) + 86_400 })
    expect(await reviews.get('rev_1', NOW)).toMatchObject({ id: 'rev_1', sessionEnded: false, overdueFlagged: false, dueAtEpoch: Math.floor(NOW) + 86_400 })
    await store.sessions.end('ses_r', 'revoked', 'tess', 'done')
    await reviews.dueBy('rev_1', Math.floor(NOW))
    await reviews.dueBy('rev_1', Math.floor(NOW) + 999_999)
    expect(await reviews.bySession('ses_r', NOW)).toMatchObject({ id: 'rev_1', sessionEnded: true, dueAtEpoch: Math.floor(NOW) })
    expect((await reviews.newlyOverdue(NOW)).map((r) => r.id)).toEqual(['rev_1'])
    await reviews.flagOverdue('rev_1')
    expect(await reviews.newlyOverdue(NOW)).toEqual([])
    expect((await reviews.list({ user: 'tess', unfiledOnly: true }, NOW)).map((r) => [r.id, r.overdueFlagged])).toEqual([['rev_1', true]])
    expect(await reviews.file('rev_1', '{"what":"reset"}', '2027-01-15T09:00:00.000Z')).toBe(true)
    expect(await reviews.file('rev_1', '{"what":"again"}', '2027-01-15T09:00:01.000Z')).toBe(false)
    expect(await reviews.signOff('rev_1', 'sam', undefined, '2027-01-15T10:00:00.000Z')).toBe(true)
    expect(await reviews.get('rev_1', NOW)).toMatchObject({ answers: '{"what":"reset"}', signedOffBy: 'sam' })

    await reviews.enqueue('role:security', 'one', Math.floor(NOW))
    await reviews.enqueue('role:security', 'later', Math.floor(NOW) + 60)
    const [due, ...rest] = await reviews.dueNotifications(NOW)
    expect(rest).toEqual([])
    expect(due).toMatchObject({ target: 'role:security', body: 'one', attempts: 0 })
    await reviews.failed(due.id, 'smtp down', Math.floor(NOW) + 30)
    expect(await reviews.dueNotifications(NOW)).toEqual([])
    expect((await reviews.dueNotifications(NOW + 60)).map((n) => [n.body, n.attempts])).toEqual([['one', 1], ['later', 0]])
    await reviews.delivered(due.id, '2027-01-15T08:01:00.000Z')
    expect((await reviews.dueNotifications(NOW + 60)).map((n) => n.body)).toEqual(['later'])
  })
})
