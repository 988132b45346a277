// Keeps the byte stream of one connection (--recordings DIR) and, for a terminal asset, an
// asciicast v2 file of it. Each file is hashed as it is written; the hashes go into the audit
// record of the connection, so a recording changed afterwards no longer matches the trail.
//
// Byte stream format (.jitrec): one record per chunk: direction (1 byte: 0x3e ">" client to asset,
// 0x3c "<" asset to client), milliseconds since the connection opened (uint32 BE), length (uint32
// BE), then the bytes.
import { createHash, type Hash } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { makePrivateFolder } from '../util/private-folder.js'

export interface RecordedFile {
  file: string
  bytes: number
  sha256: string
}

class HashedFile {
  readonly #stream: WriteStream
  readonly #hash: Hash = createHash('sha256')
  #bytes = 0
  constructor(readonly dir: string, readonly name: string) {
    this.#stream = createWriteStream(join(dir, name), { mode: 0o600 })
    // A full disk must not crash the gateway; the record then says what was kept.
    this.#stream.on('error', () => {})
  }

  write(chunk: Buffer | string): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.#hash.update(data)
    this.#bytes += data.length
    this.#stream.write(data)
  }

  async close(relative: string): Promise<RecordedFile> {
    this.#stream.end()
    await once(this.#stream, 'close').catch(() => {})
    return { file: relative, bytes: this.#bytes, sha256: this.#hash.digest('hex') }
  }
}

export class ConnectionRecorder {
  readonly #startedMs = Date.now()
  readonly #stream: HashedFile
  readonly #cast?: HashedFile
  readonly #decoders = { '>': new TextDecoder('utf-8', { fatal: false }), '<': new TextDecoder('utf-8', { fatal: false }) }

  constructor(readonly root: string, readonly sessionId: string, readonly connectionId: string, terminal: { width: number; height: number; asset: string } | undefined) {
    const dir = join(root, safeName(sessionId))
    makePrivateFolder(dir)
    this.#stream = new HashedFile(dir, `${safeName(connectionId)}.jitrec`)
    if (terminal) {
      this.#cast = new HashedFile(dir, `${safeName(connectionId)}.cast`)
      this.#cast.write(`${JSON.stringify({ version: 2, width: terminal.width, height: terminal.height, timestamp: Math.floor(this.#startedMs / 1000), title: `${terminal.asset} (${sessionId})` })}\n`)
    }
  }

  record(direction: '>' | '<', chunk: Buffer): void {
    const elapsedMs = Date.now() - this.#startedMs
    const head = Buffer.alloc(9)
    head.writeUInt8(direction.charCodeAt(0), 0)
    head.writeUInt32BE(Math.min(elapsedMs, 0xffffffff), 1)
    head.writeUInt32BE(chunk.length, 5)
    this.#stream.write(head)
    this.#stream.write(chunk)
    if (this.#cast) {
      const text = this.#decoders[direction].decode(chunk, { stream: true })
      if (text.length > 0) this.#cast.write(`${JSON.stringify([elapsedMs / 1000, direction === '<' ? 'o' : 'i', text])}\n`)
    }
  }

  async close(): Promise<{ recording: RecordedFile; asciicast?: RecordedFile }> {
    const base = `${safeName(this.sessionId)}/${safeName(this.connectionId)}`
    const [recording, asciicast] = await Promise.all([this.#stream.close(`${base}.jitrec`), this.#cast?.close(`${base}.cast`)])
    return { recording, ...(asciicast ? { asciicast } : {}) }
  }
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64)
}
