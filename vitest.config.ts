import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One file at a time: end-to-end files each start brokers, gateways, keyrings and many CLI
    // processes, and two such files side by side on a 2-core machine have starved each other
    // into failed set-ups (a broker that could not load its own module, the shared keyring lost
    // mid-run) in fresh-clone CI runs. Sequential files take ~6 minutes and are far steadier.
    maxWorkers: 1,
    testTimeout: 30_000,
    // Set-up starts brokers, gateways, sshd and PostgreSQL; on a busy 2-core machine that has
    // taken longer than 30 s (a TLS broker with its openssl CA, once).
    hookTimeout: 60_000,
    // JIT_TEST_STORE=postgres (npm run test:postgres): one PostgreSQL server for the run.
    globalSetup: ['test/e2e/postgres-global.ts'],
  },
})
