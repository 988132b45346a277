import { defineConfig } from 'vitest/config'

// Tests that start a PostgreSQL of their own, or test the PostgreSQL store itself: one run of them is enough.
const POSTGRES_ALREADY = ['test/e2e/*postgres*.test.ts', 'test/e2e/several-brokers*.test.ts', 'test/e2e/store-primitives.test.ts', 'test/e2e/feature-tables.test.ts']

export default defineConfig({
  test: {
    // One file at a time: end-to-end files each start brokers, gateways, keyrings and many CLI
    // processes, and two such files side by side on a 2-core machine have starved each other
    // into failed set-ups (a broker that could not load its own module, the shared keyring lost
    // mid-run) in fresh-clone CI runs. Sequential files take ~6 minutes and are far steadier.
    maxWorkers: 1,
    testTimeout: 30_000,
    // Set-up starts brokers, gateways, sshd and PostgreSQL; on a busy 2-core machine that has
    // taken longer than 30 s (a TLS broker with its openssl CA, once).
    hookTimeout: 60_000,
    // Both stores pass the same suite: everything on the embedded SQLite store, then every
    // end-to-end file again with each broker on a fresh database of one PostgreSQL server
    // (test/e2e/postgres-global.ts; `npm run test:postgres` runs that half alone).
    projects: [
      // (Every file runs here, so here the run checks that nothing rebuilt dist/ under it.)
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], globalSetup: ['test/dist-unchanged.ts'] } },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/e2e/**/*.test.ts'],
          exclude: POSTGRES_ALREADY,
          env: { JIT_TEST_STORE: 'postgres' },
          globalSetup: ['test/e2e/postgres-global.ts'],
        },
      },
    ],
  },
})
