// The SSH binary encoding (RFC 4251 section 5) and the Ed25519 key formats of OpenSSH, shared by
// the broker's certificate authority and the CLI's agent: one reader, one writer, one parser of
// "ssh-ed25519 AAAA..." lines that refuses anything else.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto'

export const ED25519 = 'ssh-ed25519'
export const ED25519_CERT = 'ssh-ed25519-cert-v01@openssh.com'

export class SshWriter {
  readonly #parts: Buffer[] = []

  uint32(value: number): this {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(value)
    this.#parts.push(b)
    return this
  }

  uint64(value: bigint | number): this {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(BigInt(value))
    this.#parts.push(b)
    return this
  }

  byte(value: number): this {
    this.#parts.push(Buffer.from([value]))
    return this
  }

  string(value: Buffer | string): this {
    const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    this.uint32(data.length)
    this.#parts.push(data)
    return this
  }

  raw(data: Buffer): this {
    this.#parts.push(data)
    return this
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#parts)
  }
}

/** Reads an SSH-encoded buffer; any read past the end throws SshFormatError. */
export class SshReader {
  #offset = 0
  constructor(readonly data: Buffer) {}

  get done(): boolean {
    return this.#offset === this.data.length
  }

  #take(length: number): Buffer {
    if (length < 0 || this.#offset + length > this.data.length) throw new SshFormatError('truncated SSH data')
    const slice = this.data.subarray(this.#offset, this.#offset + length)
    this.#offset += length
    return slice
  }

  byte(): number {
    return this.#take(1)[0]
  }

  uint32(): number {
    return this.#take(4).readUInt32BE()
  }

  uint64(): bigint {
    return this.#take(8).readBigUInt64BE()
  }

  string(): Buffer {
    return this.#take(this.uint32())
  }

  text(): string {
    return this.string().toString('utf8')
  }
}

export class SshFormatError extends Error {}

/** The SSH public key blob of an Ed25519 key: string "ssh-ed25519", string key (32 bytes). */
export function ed25519Blob(key: KeyObject): Buffer {
  const publicKey = key.type === 'public' ? key : createPublicKey(key)
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url')
  return new SshWriter().string(ED25519).string(raw).toBuffer()
}

/** The raw 32-byte key of an Ed25519 public key blob; throws SshFormatError for anything else. */
export function rawEd25519FromBlob(blob: Buffer): Buffer {
  const reader = new SshReader(blob)
  const type = reader.text()
  if (type !== ED25519) throw new SshFormatError(`key type ${JSON.stringify(type.slice(0, 40))} is not ${ED25519}`)
  const raw = reader.string()
  if (raw.length !== 32 || !reader.done) throw new SshFormatError('not a well-formed Ed25519 public key')
  return raw
}

/** A node:crypto public key from a raw 32-byte Ed25519 key. */
export function ed25519KeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
}

/** Parses one authorized_keys-style line "ssh-ed25519 BASE64 [comment]" into its blob. */
export function parseEd25519PublicKeyLine(line: string): Buffer {
  const fields = line.trim().split(/\s+/)
  if (fields.length < 2 || fields[0] !== ED25519) throw new SshFormatError(`expected "${ED25519} BASE64..."`)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(fields[1])) throw new SshFormatError('the key is not base64')
  const blob = Buffer.from(fields[1], 'base64')
  rawEd25519FromBlob(blob)
  return blob
}

/** "ssh-ed25519 AAAA... comment", as in authorized_keys or TrustedUserCAKeys. */
export function publicKeyLine(blob: Buffer, comment?: string): string {
  const type = new SshReader(blob).text()
  return `${type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`
}

/** OpenSSH's fingerprint of a key blob: "SHA256:" and the unpadded base64 of its SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** An Ed25519 signature in SSH form: string "ssh-ed25519", string signature (64 bytes). */
export function ed25519SignatureBlob(signature: Buffer): Buffer {
  return new SshWriter().string(ED25519).string(signature).toBuffer()
}
