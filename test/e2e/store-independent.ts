// End-to-end files that JIT_TEST_STORE changes nothing in: they start no broker through the
// harness (the one place that reads it, by way of test-store.ts), so running them again in the
// postgres project would only repeat the sqlite project's run. vitest.config.ts leaves these out
// of the postgres project; the sqlite project runs every file. A file stays on the list only
// while it keeps to that: postgresProjectSkips() refuses a listed file that imports the store
// switch, and startBroker() refuses to start a broker in one.
import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

/** File → why the store does not matter to it. */
export const STORE_INDEPENDENT: Readonly<Record<string, string>> = {
  'test/e2e/bench-harness.test.ts': 'the bench harness; its sections start their own SQLite brokers',
  'test/e2e/cli-basics.test.ts': 'the CLI as a process: version, unknown commands, closed pipes, an old Node',
  'test/e2e/cli-usage-errors.test.ts': 'command lines refused before anything is contacted',
  'test/e2e/keychain-cache.test.ts': 'the credential cache against the real keychain, no broker',
  'test/e2e/keychain-install.test.ts': 'the keychain binding from the registry, no broker',
  'test/e2e/quickstart.test.ts': 'jit quickstart runs its own demo broker on a SQLite data folder',
  'test/e2e/readme-by-hand.test.ts': 'the README block; its broker runs on a --data folder (SQLite)',
}

/** What a listed file may not import: the modules through which JIT_TEST_STORE reaches a test. */
const STORE_SWITCH = /from '\.\/(test-store|stores-for-tests|postgres)\.js'/

/** The listed files, for the postgres project's exclude; throws if one of them imports the store switch. */
export function postgresProjectSkips(): string[] {
  for (const file of Object.keys(STORE_INDEPENDENT)) {
    if (STORE_SWITCH.test(readFileSync(resolve(ROOT, file), 'utf8'))) {
      throw new Error(`${file} imports the store switch but is listed in test/e2e/store-independent.ts: take it off the list so that it runs on PostgreSQL too`)
    }
  }
  return Object.keys(STORE_INDEPENDENT)
}

/** Throws when the test file running now is listed: it is about to start a broker on the run's store. */
export function refuseInStoreIndependentFile(testPath: string | undefined, what: string): void {
  const file = testPath === undefined ? undefined : relative(ROOT, testPath)
  if (file !== undefined && file in STORE_INDEPENDENT) {
    throw new Error(`${file} ${what}, yet test/e2e/store-independent.ts lists it as touching no store: take it off the list so that it runs on PostgreSQL too`)
  }
}
