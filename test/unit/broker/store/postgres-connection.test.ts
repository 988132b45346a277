import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../../../src/errors.js'
import { clientConfig, databaseLogin, describeTarget, parseDatabaseUrl } from '../../../../src/broker/store/postgres/connection.js'

const dir = mkdtempSync(join(tmpdir(), 'jit-pgconn-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the database URL', () => {
  it('names user, host, port and database', () => {
    expect(parseDatabaseUrl('postgres://jit@db.plant.example:6543/broker')).toEqual({ host: 'db.plant.example', port: 6543, user: 'jit', database: 'broker' })
    expect(parseDatabaseUrl('postgresql://jit@[::1]/broker')).toEqual({ host: '::1', port: 5432, user: 'jit', database: 'broker' })
  })

  it('refuses a password in the URL and does not repeat it', () => {
    let error: unknown
    try {
      parseDatabaseUrl('postgres://jit:hunter2secret@db:5432/broker')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UsageError)
    expect(JSON.stringify((error as UsageError).toJSON())).not.toContain('hunter2secret')
    expect((error as UsageError).nextSteps.join(' ')).toContain('JIT_DATABASE_PASSWORD')
  })

  it('refuses other schemes, missing parts and options it would not apply', () => {
    expect(() => parseDatabaseUrl('mysql://jit@db/broker')).toThrow(UsageError)
    expect(() => parseDatabaseUrl('db:5432')).toThrow(UsageError)
    expect(() => parseDatabaseUrl('postgres://db:5432/broker')).toThrow(/user/)
    expect(() => parseDatabaseUrl('postgres://jit@db:5432/')).toThrow(/database/)
    // sslmode=require encrypts without checking who answers: not offered.
    expect(() => parseDatabaseUrl('postgres://jit@db/broker?sslmode=require')).toThrow(/sslmode=require/)
    expect(() => parseDatabaseUrl('postgres://jit@db/broker?sslrootcert=/ca.pem')).toThrow(/verify-full/)
  })

  it('a password among the query options is refused naming the option, and no option\'s value is repeated', () => {
    const secret = 'Qs-pw-7fX2'
    const messageOf = (url: string) => {
      try {
        parseDatabaseUrl(url)
      } catch (error) {
        return (error as UsageError).message + (error as UsageError).nextSteps.join(' ')
      }
      throw new Error(`${url} was accepted`)
    }
    for (const option of ['password', 'sslpassword']) {
      const message = messageOf(`postgres://jit@db/broker?${option}=${secret}`)
      expect(message).toContain(`carries a password (its ${option} option)`)
      expect(message).not.toContain(secret)
    }
    expect(messageOf(`postgres://jit@db/broker?passfile=${secret}`)).toBe('The database URL option passfile is not one jit applies; use sslmode=verify-full (with sslrootcert=FILE) or sslmode=disable.')
    expect(messageOf(`postgres://jit@db/broker?sslmode=${secret}`)).not.toContain(secret)
  })

  it('verify-full checks the server certificate', () => {
    const ca = join(dir, 'ca.pem')
    writeFileSync(ca, 'CA PEM')
    const target = parseDatabaseUrl(`postgres://jit@db/broker?sslmode=verify-full&sslrootcert=${ca}`)
    expect(clientConfig({ target }).ssl).toEqual({ rejectUnauthorized: true, ca: 'CA PEM' })
    expect(clientConfig({ target: parseDatabaseUrl('postgres://jit@db/broker') }).ssl).toBeUndefined()
  })
})

describe('the database password', () => {
  it('comes from the file when one is named, else from JIT_DATABASE_PASSWORD', () => {
    const file = join(dir, 'password')
    writeFileSync(file, 's3cret-from-file\n')
    const env = { JIT_DATABASE_PASSWORD: 'from-env' }
    expect(databaseLogin('postgres://jit@db/broker', { passwordFile: file, env }).password).toBe('s3cret-from-file')
    expect(databaseLogin('postgres://jit@db/broker', { env }).password).toBe('from-env')
    expect(databaseLogin('postgres://jit@db/broker', { env: {} }).password).toBeUndefined()
  })

  it('an unreadable or empty file is bad input', () => {
    const empty = join(dir, 'empty')
    writeFileSync(empty, '\n')
    expect(() => databaseLogin('postgres://jit@db/broker', { passwordFile: join(dir, 'missing') })).toThrow(/Cannot read the database password file .*ENOENT/)
    expect(() => databaseLogin('postgres://jit@db/broker', { passwordFile: empty })).toThrow(/is empty/)
  })

  it('never appears where the database is named', () => {
    const login = databaseLogin('postgres://jit@db:5432/broker', { env: { JIT_DATABASE_PASSWORD: 'pw-xyz' } })
    expect(describeTarget(login.target)).toBe('postgres://jit@db:5432/broker')
    expect(JSON.stringify(login.target)).not.toContain('pw-xyz')
  })
})
