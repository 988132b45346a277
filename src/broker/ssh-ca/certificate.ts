// Encodes and signs OpenSSH user certificates (ssh-ed25519-cert-v01@openssh.com, the layout of
// OpenSSH's PROTOCOL.certkeys) with node:crypto's Ed25519. Only what jit issues: user
// certificates for Ed25519 keys, flag extensions, no critical options.
import { randomBytes, sign, type KeyObject } from 'node:crypto'
import { ED25519_CERT, SshWriter, ed25519SignatureBlob, rawEd25519FromBlob } from '../../util/ssh-wire.js'

const SSH_CERT_TYPE_USER = 1

export interface UserCertificateFields {
  /** The user's public key blob (ssh-ed25519). */
  publicKey: Buffer
  serial: bigint
  keyId: string
  principals: string[]
  /** Epoch seconds. */
  validAfter: number
  validBefore: number
  /** Flag extensions such as permit-pty; OpenSSH wants them sorted, which this does. */
  extensions: string[]
}

/** The certificate blob, signed by the CA's Ed25519 private key. */
export function signUserCertificate(fields: UserCertificateFields, ca: { privateKey: KeyObject; publicBlob: Buffer }): Buffer {
  const principals = new SshWriter()
  for (const principal of fields.principals) principals.string(principal)
  const extensions = new SshWriter()
  for (const name of [...new Set(fields.extensions)].sort()) extensions.string(name).string(Buffer.alloc(0))
  const body = new SshWriter()
    .string(ED25519_CERT)
    .string(randomBytes(32))
    .string(rawEd25519FromBlob(fields.publicKey))
    .uint64(fields.serial)
    .uint32(SSH_CERT_TYPE_USER)
    .string(fields.keyId)
    .string(principals.toBuffer())
    .uint64(fields.validAfter)
    .uint64(fields.validBefore)
    .string(Buffer.alloc(0))
    .string(extensions.toBuffer())
    .string(Buffer.alloc(0))
    .string(ca.publicBlob)
    .toBuffer()
  const signature = sign(null, body, ca.privateKey)
  return new SshWriter().raw(body).string(ed25519SignatureBlob(signature)).toBuffer()
}
