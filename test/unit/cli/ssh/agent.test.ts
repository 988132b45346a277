// jit's own ssh-agent, spoken to by OpenSSH's ssh-add: it lists the certificate, signs with the
// key behind it, refuses what it does not hold or does not serve, and leaves nothing behind.
import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { signUserCertificate } from '../../../../src/broker/ssh-ca/certificate.js'
import { startAgent, type RunningAgent } from '../../../../src/cli/ssh/agent.js'
import { ED25519_CERT, SshReader, SshWriter, ed25519Blob, publicKeyLine } from '../../../../src/util/ssh-wire.js'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'jit-agent-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let agent: RunningAgent
let certificate: Buffer

beforeEach(async () => {
  const ca = generateKeyPairSync('ed25519').privateKey
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const now = Math.floor(Date.now() / 1000)
  certificate = signUserCertificate(
    { publicKey: ed25519Blob(publicKey), serial: 7n, keyId: 'ses_test', principals: ['maint'], validAfter: now - 60, validBefore: now + 600, extensions: ['permit-pty'] },
    { privateKey: ca, publicBlob: ed25519Blob(ca) },
  )
  agent = await startAgent({ privateKey, certificate, comment: 'jit ses_test' })
})

afterEach(async () => agent.close())

const sshAdd = (...args: string[]) => run('ssh-add', args, { env: { ...process.env, SSH_AUTH_SOCK: agent.socketPath } }).catch((e: { code: number; stdout: string; stderr: string }) => e)

/** One raw agent request; the answer's type byte and body. */
function ask(message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(agent.socketPath)
    let data = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk])
      if (data.length >= 4 && data.length >= 4 + data.readUInt32BE(0)) {
        socket.end()
        resolve(data.subarray(4, 4 + data.readUInt32BE(0)))
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(data))
    socket.write(new SshWriter().string(message).toBuffer())
  })
}

describe('the agent', () => {
  it('lists exactly the certificate, as ssh-add -L sees it', async () => {
    const listed = await sshAdd('-L')
    expect(listed.stdout.trim()).toBe(`${ED25519_CERT} ${certificate.toString('base64')} jit ses_test`)
  })

  it('signs with the key behind the certificate (ssh-add -T signs and verifies)', async () => {
    const file = join(dir, 'cert.pub')
    writeFileSync(file, `${ED25519_CERT} ${certificate.toString('base64')}\n`)
    const tested = await sshAdd('-T', file)
    expect(tested).not.toHaveProperty('code')
    expect(tested.stderr).toBe('')
  })

  it('refuses to sign for a key it does not hold', async () => {
    const other = join(dir, 'other.pub')
    writeFileSync(other, `${publicKeyLine(ed25519Blob(generateKeyPairSync('ed25519').publicKey))}\n`)
    expect((await sshAdd('-T', other)).code).toBeGreaterThan(0)
    const request = new SshWriter().byte(13).string(ed25519Blob(generateKeyPairSync('ed25519').publicKey)).string(Buffer.from('data')).uint32(0).toBuffer()
    expect([...(await ask(request))]).toEqual([5])
  })

  it('refuses adding, removing and locking, and answers a malformed request with a failure', async () => {
    expect((await sshAdd('-D')).code).not.toBe(0)
    expect([...(await ask(Buffer.from([17, 0, 0])))]).toEqual([5]) // add identity
    expect([...(await ask(Buffer.from([22, 0, 0, 0, 1, 120])))]).toEqual([5]) // lock
    expect([...(await ask(Buffer.from([13, 0, 0, 0, 99])))]).toEqual([5]) // sign request cut short
    // Still listing the certificate afterwards.
    const answer = new SshReader(await ask(Buffer.from([11])))
    expect(answer.byte()).toBe(12)
    expect(answer.uint32()).toBe(1)
    expect(answer.string().equals(certificate)).toBe(true)
  })

  it('drops a connection that announces an oversized message', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(agent.socketPath)
      socket.on('close', () => resolve(true))
      socket.on('error', () => resolve(true))
      socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 11]))
    })
    expect(closed).toBe(true)
  })

  it('lives in a private folder that close() removes with the socket', async () => {
    expect(statSync(agent.dir).mode & 0o777).toBe(0o700)
    await agent.close()
    expect(existsSync(agent.dir)).toBe(false)
    expect((await sshAdd('-L')).code).not.toBe(0)
  })
})
