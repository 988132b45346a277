// The certificate encoder, read back by OpenSSH's own parser (ssh-keygen -L) and verified against
// the CA key: every field where OpenSSH expects it.
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, verify } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { signUserCertificate } from '../../../../src/broker/ssh-ca/certificate.js'
import { ED25519_CERT, SshReader, ed25519Blob, ed25519KeyObject, fingerprint, parseEd25519PublicKeyLine, publicKeyLine, rawEd25519FromBlob } from '../../../../src/util/ssh-wire.js'

const dir = mkdtempSync(join(tmpdir(), 'jit-cert-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function caKey() {
  const { privateKey } = generateKeyPairSync('ed25519')
  return { privateKey, publicBlob: ed25519Blob(privateKey) }
}

function userKey() {
  return ed25519Blob(generateKeyPairSync('ed25519').publicKey)
}

function sshKeygenList(blob: Buffer): string {
  const file = join(dir, `cert-${Math.random().toString(36).slice(2)}.pub`)
  writeFileSync(file, `${ED25519_CERT} ${blob.toString('base64')}\n`)
  return execFileSync('ssh-keygen', ['-L', '-f', file], { encoding: 'utf8' })
}

const fields = {
  serial: 4242n,
  keyId: 'ses_AbC123',
  principals: ['maint', 'plc-ops'],
  validAfter: Date.parse('2026-11-30T10:00:00Z') / 1000,
  validBefore: Date.parse('2026-11-30T10:30:00Z') / 1000,
  extensions: ['permit-pty', 'permit-port-forwarding'],
}

describe('signUserCertificate', () => {
  it('makes a user certificate that ssh-keygen -L reads field by field', () => {
    const ca = caKey()
    const user = userKey()
    const listing = sshKeygenList(signUserCertificate({ ...fields, publicKey: user }, ca))
    expect(listing).toMatch(/Type: ssh-ed25519-cert-v01@openssh.com user certificate/)
    expect(listing).toContain(`Public key: ED25519-CERT ${fingerprint(user)}`)
    expect(listing).toContain(`Signing CA: ED25519 ${fingerprint(ca.publicBlob)} (using ssh-ed25519)`)
    expect(listing).toContain('Key ID: "ses_AbC123"')
    expect(listing).toContain('Serial: 4242')
    // ssh-keygen prints validity in local time; compare the instants.
    const [, from, to] = /Valid: from (\S+) to (\S+)/.exec(listing)!
    const local = (text: string) => new Date(`${text}`).getTime() / 1000
    expect([local(from), local(to)]).toEqual([fields.validAfter, fields.validBefore])
    expect(listing).toMatch(/Principals: \n\s+maint\n\s+plc-ops\n/)
    expect(listing).toMatch(/Critical Options: \(none\)/)
    // Sorted, as OpenSSH requires.
    expect(listing).toMatch(/Extensions: \n\s+permit-port-forwarding\n\s+permit-pty\n/)
  })

  it('is signed by the CA over everything before the signature, and by no other key', () => {
    const ca = caKey()
    const blob = signUserCertificate({ ...fields, publicKey: userKey() }, ca)
    // Walk the fields in PROTOCOL.certkeys order; what follows them is the signature.
    const reader = new SshReader(blob)
    expect(reader.text()).toBe(ED25519_CERT)
    expect(reader.string()).toHaveLength(32) // nonce
    expect(reader.string()).toHaveLength(32) // the user's key
    expect(reader.uint64()).toBe(4242n)
    expect(reader.uint32()).toBe(1) // user certificate
    expect(reader.text()).toBe('ses_AbC123')
    reader.string() // principals
    expect([reader.uint64(), reader.uint64()]).toEqual([BigInt(fields.validAfter), BigInt(fields.validBefore)])
    reader.string() // critical options
    reader.string() // extensions
    expect(reader.string()).toHaveLength(0) // reserved
    expect(reader.string().equals(ca.publicBlob)).toBe(true)
    const signed = blob.subarray(0, blob.length - reader.string().length - 4)
    const signature = new SshReader(blob.subarray(signed.length + 4))
    expect(reader.done).toBe(true)
    expect(signature.text()).toBe('ssh-ed25519')
    const sig = signature.string()
    expect(verify(null, signed, ed25519KeyObject(rawEd25519FromBlob(ca.publicBlob)), sig)).toBe(true)
    expect(verify(null, signed, ed25519KeyObject(rawEd25519FromBlob(caKey().publicBlob)), sig)).toBe(false)
  })

  it('refuses to certify a key that is not Ed25519', () => {
    expect(() => signUserCertificate({ ...fields, publicKey: Buffer.from('not a key') }, caKey())).toThrow()
  })
})

describe('parseEd25519PublicKeyLine', () => {
  it('reads what ssh-keygen writes, comment and all', () => {
    const file = join(dir, 'user')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', file])
    const line = execFileSync('cat', [`${file}.pub`], { encoding: 'utf8' })
    const blob = parseEd25519PublicKeyLine(line)
    expect(publicKeyLine(blob)).toBe(line.split(' ').slice(0, 2).join(' '))
    expect(execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' })).toContain(fingerprint(blob))
  })

  it.each([
    ['empty', ''],
    ['another key type', 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ'],
    ['not base64', 'ssh-ed25519 AAAA$$$'],
    ['a type that lies', `ssh-ed25519 ${Buffer.from('\x00\x00\x00\x07ssh-rsa').toString('base64')}`],
    ['a short key', `ssh-ed25519 ${Buffer.concat([Buffer.from('\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x05'), Buffer.alloc(5)]).toString('base64')}`],
    ['trailing bytes', `ssh-ed25519 ${Buffer.concat([userKey(), Buffer.from([0])]).toString('base64')}`],
    ['a length past the end', `ssh-ed25519 ${Buffer.from('\x00\x00\xff\xffssh').toString('base64')}`],
  ])('refuses %s', (_name, line) => {
    expect(() => parseEd25519PublicKeyLine(line)).toThrow()
  })
})
