// vitest global setup of the `postgres` project (vitest.config.ts, JIT_TEST_STORE=postgres in its
// workers): one PostgreSQL server for the whole run (each
// broker gets a fresh database on it, test-store.ts). Its address and a password file reach the
// test workers through vitest's provide/inject; the password itself never rides in a URL.
import { writeFileSync } from 'node:fs'
import type { TestProject } from 'vitest/node'
import { join } from 'node:path'
import { startPostgres, type TestPostgres } from './postgres.js'
import { cleanup, tempDir } from './harness.js'

let server: TestPostgres | undefined
let secrets: string | undefined

export async function setup(project: TestProject): Promise<void> {
  if (project.config.env?.JIT_TEST_STORE !== 'postgres') return
  server = await startPostgres()
  secrets = tempDir('jit-pg-secret-')
  const passwordFile = join(secrets, 'password')
  writeFileSync(passwordFile, `${server.password}\n`, { mode: 0o600 })
  project.provide('postgres', { url: `postgres://${server.user}@${server.host}:${server.port}`, passwordFile, password: server.password })
}

export async function teardown(): Promise<void> {
  await server?.stop()
  if (secrets) cleanup(secrets)
}
