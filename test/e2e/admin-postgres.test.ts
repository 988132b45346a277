// Every `jit admin …` operator command on a real PostgreSQL database (--database, the password from
// JIT_DATABASE_PASSWORD or --database-password-file), checked in the database itself. (That a
// broker running on the database sees the operator's changes at once: several-brokers.test.ts.)
// A wrong password, a password in the URL or no store named at all is refused with its exit code
// and changes nothing.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExitCode } from '../../src/errors.js'
import { verifierTokenHash } from '../../src/broker/offboarding.js'
import { FIXTURE_POLICY, PLC, ROOT, cleanup, jit, tempDir } from './harness.js'
import { startPostgres, type TestPostgres } from './postgres.js'
import { openTestStore } from './test-store.js'

let server: TestPostgres
let url: string
const scratch = tempDir('jit-admin-pg-')
const keys = tempDir('jit-admin-pg-keys-')
const passwordFile = join(scratch, 'password')

/** jit admin … on the database, the password from the environment (no --data: no key file needed). */
const admin = (args: string[], env: Record<string, string> = {}) =>
  jit(['admin', ...args, '--database', url, '--json'], { env: { JIT_DATABASE_PASSWORD: server.password, JIT_DATA: '', ...env } })

const rows = (sql: string) => server.psql(sql, 'admin_ops')

/** Runs fn on the database from the test process, as a broker would. */
async function onDatabase<T>(fn: (store: Awaited<ReturnType<typeof openTestStore>>) => Promise<T>): Promise<T> {
  const store = await openTestStore(keys, { url, passwordFile })
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

beforeAll(async () => {
  server = await startPostgres()
  url = server.createDatabase('admin_ops')
  writeFileSync(passwordFile, `${server.password}\n`, { mode: 0o600 })
}, 90_000)

afterAll(async () => {
  await server?.stop()
  cleanup(scratch, keys)
})

describe('jit admin … --database postgres://…', () => {
  it('users, enrollment codes and assets go into the database, each change audited by the operator', async () => {
    const added = await admin(['user', 'add', 'tess', '--role', 'technician'])
    expect(added.code, added.stderr).toBe(0)
    expect(added.json()).toMatchObject({ name: 'tess', roles: ['technician'] })
    expect(rows(`SELECT roles FROM users WHERE name = 'tess'`)).toContain('technician')
    expect((await admin(['user', 'list'])).json().users.map((u: { name: string }) => u.name)).toContain('tess')

    const imported = await admin(['asset', 'import', join(ROOT, 'test/fixtures/plant/inventory.yaml')])
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.json().added + imported.json().updated).toBeGreaterThan(1)
    const hmi = await admin(['asset', 'add', 'plant-a/line-9/cell-1/hmi-01', '--state', 'maintenance'])
    expect(hmi.code, hmi.stderr).toBe(0)
    const state = await admin(['asset', 'set-state', 'plant-a/line-9/cell-1/hmi-01', 'stopped', '--reason', 'line 9 down'])
    expect(state.json()).toEqual({ asset: 'plant-a/line-9/cell-1/hmi-01', state: 'stopped', previous: 'maintenance' })
    const listed = (await admin(['asset', 'list'])).json().assets.map((a: { path: string }) => a.path)
    expect(listed).toEqual(expect.arrayContaining([PLC, 'plant-a/line-9/cell-1/hmi-01']))

    // The password from a file this time.
    const code = await jit(['admin', 'enroll-code', 'tess', '--database', url, '--database-password-file', passwordFile, '--json'], { env: { JIT_DATABASE_PASSWORD: '', JIT_DATA: '' } })
    expect(code.code, code.stderr).toBe(0)
    expect(rows(`SELECT count(*) FROM enrollment_codes WHERE "user" = 'tess' AND used_at IS NULL`)).toBe('1')

    // Every change is in the one audit chain, by the operator.
    const types = rows(`SELECT type FROM audit WHERE actor LIKE 'operator:%' ORDER BY seq`).split('\n')
    expect(types).toEqual(expect.arrayContaining(['user.saved', 'inventory.imported', 'asset.saved', 'asset.state', 'enrollment.code-issued']))
  })

  it('verifiers: add, list, rotate, remove; only the token\'s hash is kept', async () => {
    const added = await admin(['verifier', 'add', 'gw-pg'])
    expect(added.code, added.stderr).toBe(0)
    const token = added.json().token as string
    expect((await admin(['verifier', 'list'])).json().verifiers.map((v: { name: string }) => v.name)).toContain('gw-pg')
    expect(await onDatabase((store) => store.verifiers.byTokenHash(verifierTokenHash(token)))).toBe('gw-pg')
    const rotated = await admin(['verifier', 'rotate', 'gw-pg'])
    expect(rotated.code, rotated.stderr).toBe(0)
    expect(await onDatabase((store) => store.verifiers.byTokenHash(verifierTokenHash(token)))).toBeUndefined()
    expect(await onDatabase((store) => store.verifiers.byTokenHash(verifierTokenHash(rotated.json().token)))).toBe('gw-pg')
    expect((await admin(['verifier', 'remove', 'gw-pg'])).code).toBe(0)
    expect((await admin(['verifier', 'list'])).json().verifiers).toEqual([])
  })

  it('offboarding: disable and enable; devices listed and revoked; enrollment codes revoked', async () => {
    await onDatabase((store) => store.devices.add({ id: 'dev_pg1', user: 'tess', name: 'tess-laptop', publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }, jkt: 'jkt-pg1', createdAt: new Date().toISOString() }))
    const devices = await admin(['device', 'list', '--user', 'tess'])
    expect(devices.code, devices.stderr).toBe(0)
    expect(devices.json().devices).toHaveLength(1)
    expect((await admin(['enroll-code', 'tess'])).code).toBe(0)
    // This one and the one of the first test.
    expect((await admin(['enroll-code', 'revoke', '--user', 'tess'])).json()).toEqual({ user: 'tess', revoked: 2 })
    expect(rows(`SELECT count(*) FROM enrollment_codes WHERE "user" = 'tess' AND used_at IS NULL`)).toBe('0')

    const disabled = await admin(['user', 'disable', 'tess', '--reason', 'contract ended'])
    expect(disabled.code, disabled.stderr).toBe(0)
    expect(disabled.json()).toMatchObject({ user: 'tess', disabled: true })
    expect(rows(`SELECT disabled FROM users WHERE name = 'tess'`)).toBe('1')
    expect((await admin(['user', 'enable', 'tess'])).code).toBe(0)
    expect(rows(`SELECT disabled FROM users WHERE name = 'tess'`)).toBe('0')

    const revoked = await admin(['device', 'revoke', devices.json().devices[0].id, '--reason', 'laptop lost'])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(rows(`SELECT count(*) FROM devices WHERE "user" = 'tess' AND revoked_at IS NULL`)).toBe('0')
  })

  it('ssh-ca rotate takes the key files from --data and records on the database', async () => {
    // The broker makes its SSH CA key on first start; this folder stands for its --data.
    const { loadOrCreateSshCaKey } = await import('../../src/broker/ssh-ca/ca-key.js')
    loadOrCreateSshCaKey(keys)
    const announced = await admin(['ssh-ca', 'rotate', '--data', keys])
    expect(announced.code, announced.stderr).toBe(0)
    expect(announced.json().step).toBe('announced')
    expect(rows(`SELECT count(*) FROM audit WHERE type = 'ssh.ca.next-announced'`)).toBe('1')
    expect(rows(`SELECT actor FROM audit WHERE type = 'ssh.ca.next-announced'`)).toMatch(/^operator:/)
  })

  it('refusals: a wrong password (exit 9), a password in the URL (exit 2), no store named (exit 2); nothing changes, no password shown', async () => {
    const before = rows('SELECT count(*) FROM audit')
    const wrong = await admin(['user', 'add', 'mallory', '--role', 'admin'], { JIT_DATABASE_PASSWORD: 'not-the-password' })
    expect(wrong.code).toBe(ExitCode.auth)
    expect(wrong.json().error.code).toBe('database-auth')
    const inUrl = await jit(['admin', 'user', 'list', '--database', url.replace('jit@', `jit:${server.password}@`), '--json'], { env: { JIT_DATA: '' } })
    expect(inUrl.code).toBe(ExitCode.usage)
    expect(inUrl.json().error.message).toMatch(/carries a password/)
    const nowhere = await jit(['admin', 'user', 'add', 'mallory', '--role', 'admin', '--json'], { env: { JIT_DATA: '', JIT_DATABASE: '' } })
    expect(nowhere.code).toBe(ExitCode.usage)
    expect(nowhere.json().error.message).toMatch(/--data DIR .* or --database/)
    for (const result of [wrong, inUrl, nowhere]) expect(result.stdout + result.stderr).not.toContain(server.password)
    expect(rows('SELECT count(*) FROM audit')).toBe(before)
    expect(rows(`SELECT count(*) FROM users WHERE name = 'mallory'`)).toBe('0')
  })

  // libpq also takes a password as a query option: every command that takes a database URL
  // refuses it naming the option, and neither stderr nor --json repeats the value.
  it('a password in the URL\'s query string is refused by every command taking a database, the value never echoed', async () => {
    const secret = 'Qs-pw-7fX2'
    const data = tempDir('jit-admin-pg-data-')
    const empty = server.createDatabase('query_password')
    for (const option of ['password', 'sslpassword']) {
      const withPassword = `${empty}?${option}=${secret}`
      const commands = [
        ['broker', 'start', '--data', data, '--database', withPassword, '--policy', FIXTURE_POLICY, '--listen', '127.0.0.1:0'],
        ['admin', 'user', 'list', '--database', withPassword],
        ['admin', 'migrate', '--data', data, '--to', withPassword],
        ['audit', 'verify', '--data', data, '--database', withPassword],
        ['audit', 'export', '--format', 'jsonl', '--data', data, '--database', withPassword],
        ['report', 'identities', '--data', data, '--database', withPassword],
        ['report', 'session', 'ses_1', '--data', data, '--database', withPassword],
      ]
      for (const args of commands) {
        for (const json of [true, false]) {
          const result = await jit([...args, ...(json ? ['--json'] : [])], { env: { JIT_DATABASE_PASSWORD: server.password, JIT_DATA: '' } })
          const said = `${args.slice(0, 2).join(' ')} ?${option}: ${result.stdout}${result.stderr}`
          expect(result.code, said).toBe(ExitCode.usage)
          expect(result.stdout + result.stderr, said).not.toContain(secret)
          expect(json ? result.json().error.message : result.stderr, said).toContain(`carries a password (its ${option} option)`)
        }
      }
    }
    // Refused before connecting: the database is as empty as it was made.
    expect(server.psql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`, 'query_password')).toBe('0')
    cleanup(data)
    // Nine commands, each four times, each a CLI start: more than the default 30 s on a busy machine.
  }, 120_000)
})
