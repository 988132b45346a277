// A real OpenSSH server for the SSH certificate scenarios: Debian's /usr/sbin/sshd on a free
// loopback port, with a host key, config, pid file, TrustedUserCAKeys and RevokedKeys of its own
// in a temp folder. It trusts nothing but the broker's CA (no authorized_keys, no passwords).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
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
