import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores: end-to-end files each start a broker and many CLI processes.
    maxWorkers: 2,
    testTimeout: 30_000,
    // Set-up starts brokers, gateways, sshd and PostgreSQL; on a busy 2-core machine that has
    // taken longer than 30 s (a TLS broker with its openssl CA, once).
    hookTimeout: 60_000,
  },
})
