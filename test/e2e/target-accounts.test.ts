// Target accounts on a real PostgreSQL (a cluster of the test's own, apart from the broker's
// store): each session gets a login role granted only what its scope maps to, removed with its
// connections at every end cause, repaired after a broker crash, retried while the target is away.
// Real broker and CLI processes, real keychain, real psql.
import { execFile, execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deviceAssertion, loadDeviceKey } from '../../src/cli/device/device-key.js'
import { SystemKeychain } from '../../src/cli/keychain/keychain.js'
import type { Grant } from '../../src/wire/api.js'
import { cleanup, jit, startBroker, type TestBroker } from './harness.js'
import { postgresBinDir, startPostgres, type TestPostgres } from './postgres.js'
import { auditOf, deviceIdOf, latestSessionOf, sessionRow, waitFor } from './revocation-helpers.js'

const execFileAsync = promisify(execFile)
const DB = 'plant-a/line-3/cell-2/historian-01'
/** The same server, but the scope diagnose maps to nothing there. */
const DB_READ_ONLY = 'plant-a/line-3/cell-2/historian-02'
/** A target nothing listens on. */
const DB_AWAY = 'plant-a/line-3/cell-2/historian-03'
const TICKET = 'WO-104233'
const PASSWORD_VAR = 'JIT_TEST_TARGET_ADMIN_PASSWORD'

let target: TestPostgres
let broker: TestBroker
let alice: string
/** Every target password the tests saw, to look for afterwards in files, logs and the audit trail. */
const seenPasswords: string[] = []

const targetFor = (url: string, scopes: Record<string, string[]>) => ({ state: 'running', target: { kind: 'postgres', url, password: { env: PASSWORD_VAR }, scopes } })

async function startTestBroker(dataDir?: string): Promise<TestBroker> {
  return startBroker({ dataDir, env: { [PASSWORD_VAR]: target.password }, args: ['--heartbeat-grace', '5s'] })
}

beforeAll(async () => {
  target = await startPostgres()
  target.createDatabase('plant')
  target.psql('CREATE TABLE readings (tag text, value float8); INSERT INTO readings VALUES (\'TT-101\', 71.5);', 'plant')
  target.psql('CREATE ROLE app_read NOLOGIN; GRANT SELECT ON readings TO app_read; CREATE ROLE app_write NOLOGIN; GRANT INSERT ON readings TO app_write;', 'plant')
  broker = await startTestBroker()
  alice = await broker.enroll('alice', ['technician'])
  await broker.addAsset(DB, targetFor(target.url('plant'), { read: ['app_read'], diagnose: ['app_read', 'app_write'] }))
  await broker.addAsset(DB_READ_ONLY, targetFor(target.url('plant'), { read: ['app_read'] }))
  await broker.addAsset(DB_AWAY, targetFor('postgres://jit@127.0.0.1:1/plant', { read: ['app_read'] }))
}, 90_000)

afterAll(async () => {
  await broker?.stop()
  await target?.stop()
  cleanup(broker.dataDir, alice)
})

/** The login roles jit made that exist on the target now. */
const jitRoles = () => target.psql("SELECT rolname FROM pg_roles WHERE starts_with(rolname, 'jit_') ORDER BY 1").split('\n').filter(Boolean)

/** psql as the session's account would run it, with libpq's variables from the grant. */
function psqlAs(env: Record<string, string>, sql: string): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(join(postgresBinDir(), 'psql'), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env: { PATH: process.env.PATH, ...env } })
}

/** A request made as alice's device, as the CLI makes it, keeping the grant (and its target login) in this process's memory. */
async function grantAsAlice(asset: string, scope: string, ttlSeconds = 1800): Promise<{ status: number; body: { grant?: Grant; code?: string; detail?: string } }> {
  const key = await loadDeviceKey(new SystemKeychain(), deviceIdOf(alice))
  const path = '/v1/requests'
  const payload = JSON.stringify({ ticket: TICKET, asset, scope, ttlSeconds, reason: 'historian check', delivery: 'memory' })
  const response = await fetch(`${broker.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: deviceAssertion(key, 'POST', path, payload, broker.url) }, body: payload })
  const body = (await response.json()) as { grant?: Grant }
  if (body.grant?.target) seenPasswords.push(body.grant.target.env.PGPASSWORD)
  return { status: response.status, body }
}

async function connectAs(env: Record<string, string>): Promise<pg.Client> {
  const client = new pg.Client({ host: env.PGHOST, port: Number(env.PGPORT), database: env.PGDATABASE, user: env.PGUSER, password: env.PGPASSWORD, connectionTimeoutMillis: 5000 })
  await client.connect()
  return client
}

/** Whether a connection still answers: false once the server terminated it. */
async function answers(client: pg.Client): Promise<boolean> {
  try {
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  }
}

async function loginFails(env: Record<string, string>): Promise<string> {
  try {
    const client = await connectAs(env)
    await client.end()
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

const show = (id: string) => jit(['sessions', 'show', id], { home: alice })

describe('a PostgreSQL target', () => {
  it('jit exec: the session\'s role logs in with psql and can do what its scope maps to, nothing more; gone when the command ends', async () => {
    const read = await jit(['exec', '--ticket', TICKET, '--asset', DB, '--scope', 'read', '--', 'psql', '-X', '-A', '-t', '-c', 'SELECT current_user, value FROM readings'], { home: alice })
    expect(read.stderr).not.toMatch(/error/i)
    expect(read.code).toBe(0)
    const sid = await latestSessionOf(broker, 'alice')
    expect(read.stdout.trim()).toBe(`jit_${sid}|71.5`)

    // read maps to app_read only: no insert.
    const write = await jit(['exec', '--ticket', TICKET, '--asset', DB, '--scope', 'read', '--', 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-c', "INSERT INTO readings VALUES ('TT-102', 1)"], { home: alice })
    expect(write.code).not.toBe(0)
    expect(write.stderr).toMatch(/permission denied for table readings/)
    // diagnose maps to app_read and app_write: the insert goes through.
    const diagnose = await jit(['exec', '--ticket', TICKET, '--asset', DB, '--scope', 'diagnose', '--', 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-c', "INSERT INTO readings VALUES ('TT-102', 1)"], { home: alice })
    expect(diagnose.stderr).not.toMatch(/error/i)
    expect(diagnose.code).toBe(0)
    // Nothing more than the mapped roles: no role creation, no superuser.
    const escalate = await jit(['exec', '--ticket', TICKET, '--asset', DB, '--scope', 'diagnose', '--', 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-c', 'CREATE ROLE sneaky'], { home: alice })
    expect(escalate.stderr).toMatch(/permission denied to create role/)

    // Each command's session ended with it, and its role went with the session.
    await waitFor('every role removed', () => jitRoles().length === 0)
    const events = (await auditOf(broker, sid)).map((e) => e.type)
    expect(events).toEqual(expect.arrayContaining(['session.issued', 'target.account.made', 'session.revoked', 'target.account.removed']))
    const made = (await auditOf(broker, sid)).find((e) => e.type === 'target.account.made')!
    expect(made.data).toMatchObject({ account: `jit_${sid}`, roles: ['app_read'], target: `postgres://127.0.0.1:${target.port}/plant` })
    const shown = await show(sid)
    expect(shown.stdout).toMatch(new RegExp(`target +account jit_${sid} at postgres://127.0.0.1:${target.port}/plant: removed`))
  })

  it('after revoke the open connection is gone and a new login fails', async () => {
    const { status, body } = await grantAsAlice(DB, 'read')
    expect(status).toBe(201)
    const login = body.grant!.target!
    expect(login).toMatchObject({ kind: 'postgres', account: `jit_${body.grant!.session.id}` })
    // The role expires with the session in PostgreSQL too.
    const validUntil = target.psql(`SELECT extract(epoch FROM rolvaliduntil)::bigint FROM pg_roles WHERE rolname = '${login.account}'`)
    expect(Number(validUntil)).toBe(Date.parse(body.grant!.session.expiresAt) / 1000)
    const open = await connectAs(login.env)
    open.on('error', () => {})
    expect((await open.query('SELECT count(*)::int AS n FROM readings')).rows[0].n).toBeGreaterThan(0)

    const revoked = await jit(['revoke', body.grant!.session.id], { home: alice })
    expect(revoked.code).toBe(0)
    await waitFor('the open connection terminated', async () => !(await answers(open)), 10_000)
    expect(await loginFails(login.env)).toMatch(/password authentication failed|does not exist/)
    expect(jitRoles()).not.toContain(login.account)
    await open.end().catch(() => {})
  })

  it('jit request caches the target login beside the credential (keychain only); jit credential --target prints it', async () => {
    const requested = await jit(['request', '--ticket', TICKET, '--asset', DB, '--scope', 'read', '--reason', 'historian check', '--json'], { home: alice })
    expect(requested.code).toBe(0)
    const sid = requested.json().session.id as string
    const shown = await jit(['credential', sid, '--target', '--json'], { home: alice })
    expect(shown.code).toBe(0)
    const login = shown.json()
    expect(login).toMatchObject({ sessionId: sid, account: `jit_${sid}`, env: { PGUSER: `jit_${sid}`, PGHOST: '127.0.0.1', PGPORT: String(target.port), PGDATABASE: 'plant' } })
    seenPasswords.push(login.env.PGPASSWORD)
    expect((await psqlAs(login.env, 'SELECT current_user')).stdout.trim()).toBe(`jit_${sid}`)
    const exported = await jit(['credential', sid, '--target'], { home: alice })
    expect(exported.stdout).toContain(`export PGUSER='jit_${sid}'`)
    // The session's own credential prints as before, without the target's variables.
    expect((await jit(['credential', sid], { home: alice })).stdout).not.toContain('PGPASSWORD')
    expect((await jit(['revoke', sid], { home: alice })).code).toBe(0)
    await waitFor('the role removed', () => !jitRoles().includes(`jit_${sid}`))
    expect(await loginFails(login.env)).toMatch(/password authentication failed|does not exist/)
  })

  it('after the TTL elapses the open connection is gone and a new login fails', async () => {
    const { status, body } = await grantAsAlice(DB, 'read', 60)
    expect(status).toBe(201)
    const login = body.grant!.target!
    const open = await connectAs(login.env)
    open.on('error', () => {})
    expect(await answers(open)).toBe(true)
    await waitFor('the session expired and its connection terminated', async () => !(await answers(open)), 90_000, 500)
    expect((await sessionRow(broker, body.grant!.session.id)).state).toBe('expired')
    expect(await loginFails(login.env)).toMatch(/password authentication failed|does not exist/)
    expect(jitRoles()).not.toContain(login.account)
    await open.end().catch(() => {})
  }, 120_000)

  it('a scope the target does not map, or a target that does not answer, opens nothing', async () => {
    const unmapped = await jit(['exec', '--ticket', TICKET, '--asset', DB_READ_ONLY, '--scope', 'diagnose', '--', 'true'], { home: alice })
    expect(unmapped.code).toBe(5)
    expect(unmapped.stderr).toMatch(/No session opened: scope diagnose is not mapped to any role at postgres:\/\/127\.0\.0\.1:\d+\/plant/)
    const sid = await latestSessionOf(broker, 'alice')
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', ended_by: 'broker' })

    const away = await jit(['exec', '--ticket', TICKET, '--asset', DB_AWAY, '--scope', 'read', '--', 'true'], { home: alice })
    expect(away.code).toBe(5)
    expect(away.stderr).toMatch(/No session opened: the account could not be made at postgres:\/\/127\.0\.0\.1:1\/plant/)
    const awaySid = await latestSessionOf(broker, 'alice')
    expect(await sessionRow(broker, awaySid)).toMatchObject({ state: 'revoked', ended_by: 'broker' })
    expect((await auditOf(broker, awaySid)).find((e) => e.type === 'session.revoked')!.data).toMatchObject({ cause: 'target-failed' })
    expect(jitRoles()).toEqual([])
  })

  it('the target stopped during revoke: removal is retried, shown as not yet removed, and completes when it returns', async () => {
    const { body } = await grantAsAlice(DB, 'read')
    const sid = body.grant!.session.id
    const login = body.grant!.target!
    await target.halt('fast')
    try {
      expect((await jit(['revoke', sid], { home: alice })).code).toBe(0)
      await waitFor('a failed removal', async () => (await auditOf(broker, sid)).some((e) => e.type === 'target.account.removal-failed'))
      const shown = await show(sid)
      expect(shown.stdout).toMatch(new RegExp(`target +account ${login.account} not yet removed at postgres://127.0.0.1:${target.port}/plant`))
      const json = (await jit(['sessions', 'show', sid, '--json'], { home: alice })).json()
      expect(json.targets[0]).toMatchObject({ state: 'removing', account: login.account })
      expect(json.targets[0].attempts).toBeGreaterThan(0)
    } finally {
      await target.resume()
    }
    await waitFor('the removal completed', async () => (await auditOf(broker, sid)).some((e) => e.type === 'target.account.removed'), 30_000, 200)
    expect(jitRoles()).not.toContain(login.account)
    expect(await loginFails(login.env)).toMatch(/password authentication failed|does not exist/)
    expect((await show(sid)).stdout).toMatch(/: removed/)
  }, 60_000)

  it('the broker killed after the role was made and before its reply: the role is gone after restart, the session ended; a stray role is reconciled away', async () => {
    // Timed by locks, not by luck: the target holds CREATE ROLE until the broker's store is held
    // too, so the broker makes the role and then waits to record it; it is killed there.
    const targetLock = new pg.Client({ host: target.host, port: target.port, user: target.user, database: 'plant', password: target.password })
    await targetLock.connect()
    await targetLock.query('BEGIN')
    await targetLock.query('LOCK TABLE pg_catalog.pg_authid IN SHARE MODE')
    const asked = grantAsAlice(DB, 'read').catch((error: Error) => ({ status: 0, body: { detail: error.message } }))
    await waitFor('CREATE ROLE waiting at the target', () => target.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE ROLE%' AND wait_event_type = 'Lock'") === '1')
    const sid = (await broker.withStore((store) => store.query("SELECT session_id FROM target_accounts WHERE state = 'intent'")))[0].session_id as string
    // The store held on the journal's row: recording "made" waits.
    let releaseStore!: () => void
    const storeHeld = new Promise<void>((held) => {
      void broker.withStore((store) =>
        store.transaction(async () => {
          await store.execute('UPDATE target_accounts SET attempts = attempts WHERE session_id = ?', [sid])
          held()
          await new Promise<void>((release) => (releaseStore = release))
        }),
      )
    })
    await storeHeld
    await targetLock.query('COMMIT')
    await targetLock.end()
    await waitFor('the role made', () => jitRoles().includes(`jit_${sid}`))
    broker.process.kill('SIGKILL')
    await broker.stop()
    releaseStore()
    expect((await asked).status).not.toBe(201)
    expect(jitRoles()).toContain(`jit_${sid}`)

    // And a role of jit's that no journal row accounts for (made by hand, or by a lost database).
    target.psql('CREATE ROLE "jit_ses_stray" LOGIN')
    broker = await startTestBroker(broker.dataDir)
    await waitFor('the stray role reconciled away', () => !jitRoles().includes('jit_ses_stray'), 30_000, 250)
    const reconciled = await waitFor('the reconcile audited', async () => {
      const rows = await broker.withStore((store) => store.query("SELECT data FROM audit WHERE type = 'target.account.reconciled'"))
      return rows.length > 0 && rows
    })
    expect(reconciled.map((r) => JSON.parse(r.data as string).account)).toEqual(['jit_ses_stray'])
    await waitFor('the role removed after restart', () => !jitRoles().includes(`jit_${sid}`), 45_000, 250)
    expect(await sessionRow(broker, sid)).toMatchObject({ state: 'revoked', ended_by: 'broker' })
    const types = (await auditOf(broker, sid)).map((e) => e.type)
    expect(types).toEqual(expect.arrayContaining(['session.revoked', 'target.account.removed']))
    expect(types).not.toContain('target.account.made')
  }, 90_000)

  it('no target password in any file, log, audit record or process list', async () => {
    expect(seenPasswords.length).toBeGreaterThanOrEqual(3)
    const audit = JSON.stringify(await broker.withStore((store) => store.query('SELECT * FROM audit')))
    const journal = JSON.stringify(await broker.withStore((store) => store.query('SELECT * FROM target_accounts')))
    const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    const files = [broker.dataDir, alice].flatMap(filesIn).map((file) => readFileSync(file).toString('latin1'))
    for (const password of seenPasswords) {
      expect(audit).not.toContain(password)
      expect(journal).not.toContain(password)
      expect(broker.log()).not.toContain(password)
      expect(target.log()).not.toContain(password)
      expect(processes).not.toContain(password)
      for (const text of files) expect(text).not.toContain(password)
    }
  })
})

function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((file) => statSync(file, { throwIfNoEntry: false })?.isFile())
}
