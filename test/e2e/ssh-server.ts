// A real OpenSSH server for the SSH certificate scenarios: Debian's /usr/sbin/sshd on a free
// loopback port, with a host key, config, pid file, TrustedUserCAKeys and RevokedKeys of its own
// in a temp folder. It trusts nothing but the broker's CA (no authorized_keys, no passwords).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'
import { tempDir } from './harness.js'

export { freePort }

export const SSHD = '/usr/sbin/sshd'

export interface TestSshd {
  port: number
  dir: string
  caFile: string
  krlFile: string
  log(): string
  stop(): Promise<void>
}

export async function startSshd(files: { caPub: string; krl: Buffer }): Promise<TestSshd> {
  const dir = tempDir('jit-sshd-')
  const caFile = join(dir, 'trusted-user-ca.pub')
  const krlFile = join(dir, 'revoked-keys.krl')
  writeFileSync(caFile, files.caPub)
  writeFileSync(krlFile, files.krl)
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')])
  // sshd started as root checks for its privilege separation folder even on an unprivileged port.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 })
  const port = await freePort()
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `TrustedUserCAKeys ${caFile}`,
    `RevokedKeys ${krlFile}`,
    'AuthorizedKeysFile none',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UsePAM no',
    'LogLevel VERBOSE',
  ]
  writeFileSync(join(dir, 'sshd_config'), `${config.join('\n')}\n`)
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr!.on('data', (d) => (log += d))
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`sshd did not start: ${log}`)), 10_000)
    child.stderr!.on('data', () => {
      if (log.includes('Server listening')) {
        clearTimeout(timer)
        ok()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      fail(new Error(`sshd exited ${code}: ${log}`))
    })
  })
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()))
  return {
    port,
    dir,
    caFile,
    krlFile,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** Files under dir, recursively, with their kind: what a run left on disk. */
export function filesUnder(dir: string): { path: string; kind: 'file' | 'socket' | 'dir' | 'other' }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((entry) => ({
    path: join(entry.parentPath, entry.name),
    kind: entry.isFile() ? 'file' : entry.isSocket() ? 'socket' : entry.isDirectory() ? 'dir' : 'other',
  }))
}

/** The test host key is new each run; nothing about it is checked. */
export const SSH_OPTIONS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR']

/** A key pair made by ssh-keygen in dir, as a user would have one: its file and its public line. */
export function newUserKey(dir: string): { file: string; line: string } {
  const file = join(dir, `id_ed25519_${Math.random().toString(36).slice(2, 8)}`)
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file])
  return { file, line: readFileSync(`${file}.pub`, 'utf8').trim() }
}

/** An ssh login with key and certificate files of the test's own (a host's view of a certificate). */
export async function sshWithFiles(sshd: Pick<TestSshd, 'port'>, key: { file: string }, certLine: string, login = userInfo().username): Promise<{ code: number; stdout: string; stderr: string }> {
  writeFileSync(`${key.file}-cert.pub`, `${certLine}\n`)
  try {
    // Asynchronous, so that sshd's log keeps flowing into the test meanwhile.
    const { stdout } = await promisify(execFile)('ssh', ['-i', key.file, '-o', `CertificateFile=${key.file}-cert.pub`, '-o', 'IdentityAgent=none', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes', ...SSH_OPTIONS, '-p', String(sshd.port), '-l', login, '127.0.0.1', 'echo', 'ok'], { encoding: 'utf8' })
    return { code: 0, stdout, stderr: '' }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
