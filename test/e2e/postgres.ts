// A real PostgreSQL server for the tests: Debian's postgresql binaries (/usr/lib/postgresql/N/bin),
// a fresh cluster (initdb) in a temp folder, listening on a free loopback port and on a unix
// socket inside that folder, torn down with the folder. PostgreSQL refuses to run as root, so a
// root test run (CI) hands the folder to the `postgres` OS user and starts the server as that user.
// The cluster's superuser is `jit` with a random password (scram-sha-256 over TCP), so the tests
// exercise the same password path a plant's broker uses.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// With its `.ts` extension: the bench loads this file on Node's own type stripping too.
import { freePort } from './free-port.ts'

export interface TestPostgres {
  host: string
  port: number
  user: string
  /** The superuser's password; give it to jit through JIT_DATABASE_PASSWORD or a file, never a URL. */
  password: string
  /** postgres://jit@127.0.0.1:PORT/DB, without the password. */
  url(database?: string): string
  /** Makes an empty database and returns its URL. */
  createDatabase(name: string): string
  /** Runs one SQL statement with psql and returns its unaligned, tuples-only output. */
  psql(sql: string, database?: string): string
  log(): string
  /** Stops the server and keeps its data: `fast` is PostgreSQL's fast shutdown, `kill` SIGKILLs every process of it. */
  halt(how: 'fast' | 'kill'): Promise<void>
  /** Starts a halted server again on the same port and data. */
  resume(): Promise<void>
  stop(): Promise<void>
}

/** The newest PostgreSQL installed from Debian's packages. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'postgres'))) : []
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/N/bin): run scripts/test-deps.sh')
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  return join(root, newest, 'bin')
}

/** uid/gid to run PostgreSQL as: the `postgres` user when we are root, else ourselves. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir()
  const identity = serverIdentity()
  const dir = mkdtempSync(join(tmpdir(), 'jit-pg-'))
  const dataDir = join(dir, 'data')
  const user = 'jit'
  const password = randomBytes(18).toString('base64url')
  const pwFile = join(dir, 'pwfile')
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 })
  if (identity) {
    chownSync(dir, identity.uid, identity.gid)
    chownSync(pwFile, identity.uid, identity.gid)
  }
  const asServer = { ...(identity ?? {}), cwd: dir, env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } }
  // --no-sync: only the test cluster's creation skips fsync; the running server keeps fsync on.
  execFileSync(join(bin, 'initdb'), ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
    ...asServer,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  rmSync(pwFile)

  let child: ChildProcess | undefined
  let log = ''
  let port = 0
  const launch = async (): Promise<ChildProcess | undefined> => {
    const from = log.length
    const candidate = spawn(join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'], {
      ...asServer,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    candidate.stderr!.on('data', (d) => (log += d))
    return (await serverReady(candidate, () => log.slice(from))) ? candidate : undefined
  }
  for (let attempt = 0; attempt < 3 && !child; attempt++) {
    port = await freePort()
    child = await launch()
  }
  if (!child) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`PostgreSQL did not start:\n${log}`)
  }
  let server = child
  const running = () => server.exitCode === null && server.signalCode === null

  const psql = (sql: string, database = 'postgres') =>
    execFileSync(join(bin, 'psql'), ['-h', dir, '-p', String(port), '-U', user, '-d', database, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      ...asServer,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim()
  const url = (database = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${database}`
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    url,
    createDatabase(name) {
      if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`not a database name: ${name}`)
      psql(`CREATE DATABASE ${name}`)
      return url(name)
    },
    psql,
    log: () => log,
    async halt(how) {
      if (!running()) return
      const exited = new Promise<void>((ok) => server.once('exit', () => ok()))
      if (how === 'fast') server.kill('SIGINT')
      else {
        // Every process of the server at once, as a crash of its host would: no backend lingers
        // to finish what it was doing, and the next start runs crash recovery.
        // Stopped first, the postmaster forks no backend that the list would miss.
        server.kill('SIGSTOP')
        const backends = childrenOf(server.pid!)
        server.kill('SIGKILL')
        for (const pid of backends) killQuietly(pid)
        await exited
        while (backends.some(alive)) await new Promise((r) => setTimeout(r, 20))
      }
      await exited
    },
    async resume() {
      if (running()) return
      const again = await launch()
      if (!again) throw new Error(`PostgreSQL did not start again on port ${port}:\n${log.slice(-2000)}`)
      server = again
    },
    async stop() {
      if (running()) {
        const exited = new Promise<void>((ok) => server.once('exit', () => ok()))
        // SIGINT: PostgreSQL's fast shutdown (ends the clients' sessions, then stops).
        server.kill('SIGINT')
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The processes whose parent is `pid` (a postmaster's backends and helpers). */
function childrenOf(pid: number): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(entry))
    } catch {
      // Gone meanwhile.
    }
  }
  return found
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

/** Whether a process still runs (a zombie no longer does: it holds no memory, socket or lock). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Waits for "ready to accept connections", or for the server to exit (e.g. its port was taken). */
function serverReady(child: ChildProcess, log: () => string): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer)
      child.stderr!.off('data', onData)
      child.off('exit', onExit)
      if (!ready && child.exitCode === null) child.kill('SIGKILL')
      resolve(ready)
    }
    const onData = () => {
      if (log().includes('ready to accept connections')) done(true)
    }
    const onExit = () => done(false)
    const timer = setTimeout(() => done(false), 30_000)
    child.stderr!.on('data', onData)
    child.once('exit', onExit)
  })
}
