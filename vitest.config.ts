import { defineConfig } from 'vitest/config'
import { postgresProjectSkips } from './test/e2e/store-independent.js'

// Tests that start a PostgreSQL of their own, or test the PostgreSQL store itself: one run of them is enough.
// So are the single-executable tests, which build an executable each run and are about packaging, not the store.
const POSTGRES_ALREADY = ['test/e2e/*postgres*.test.ts', 'test/e2e/several-brokers*.test.ts', 'test/e2e/store-primitives.test.ts', 'test/e2e/feature-tables.test.ts', 'test/e2e/single-executable*.test.ts']

export default defineConfig({
  test: {
    // Two files at a time on a 2-core machine. Side by side they once failed their set-ups: a
    // test's npx rebuilt dist/ under the other file, and a test keychain's bus could start a
    // locked keyring daemon on the shared keyring folder (both fixed; test/dist-unchanged.ts
    // fails the run if dist/ changes again, scripts/test-bus.conf activates nothing).
    maxWorkers: 2,
    testTimeout: 30_000,
    // Set-up starts brokers, gateways, sshd and PostgreSQL; on a busy 2-core machine that has
    // taken longer than 30 s (a TLS broker with its openssl CA, once).
    hookTimeout: 60_000,
    // Both stores pass the same suite: everything on the embedded SQLite store, and every
    // end-to-end file that starts brokers again with each broker on a fresh database of one
    // PostgreSQL server (test/e2e/postgres-global.ts; `npm run test:postgres` runs that half alone).
    projects: [
      // (Every file runs here, so here the run checks that nothing rebuilt dist/ under it.)
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], globalSetup: ['test/dist-unchanged.ts'] } },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/e2e/**/*.test.ts'],
          // Files that start no broker on the run's store would only repeat the sqlite run
          // (test/e2e/store-independent.ts lists them, with why, and holds them to it).
          exclude: [...POSTGRES_ALREADY, ...postgresProjectSkips()],
          env: { JIT_TEST_STORE: 'postgres' },
          globalSetup: ['test/e2e/postgres-global.ts'],
        },
      },
    ],
  },
})
