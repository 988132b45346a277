// Reading tunnel handshake frames (both ends): length-prefixed JSON frames, refused when the length is larger
// than the protocol allows (before a byte of it is buffered) or the body is not a JSON object.
import { MAX_TUNNEL_FRAME_BYTES } from './gateway.js'

export class FrameError extends Error {}

export class FrameReader {
  #buffer: Buffer = Buffer.alloc(0)

  /** Starts over with these bytes (left after the previous frame). */
  reset(rest: Buffer): void {
    this.#buffer = rest
  }

  /** Adds received bytes; returns the first complete frame and the bytes after it, or undefined if more are needed. */
  push(chunk: Buffer): { frame: Record<string, unknown>; rest: Buffer } | undefined {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    if (this.#buffer.length < 4) return undefined
    const length = this.#buffer.readUInt32BE(0)
    if (length === 0 || length > MAX_TUNNEL_FRAME_BYTES) throw new FrameError(`frame of ${length} bytes (limit ${MAX_TUNNEL_FRAME_BYTES})`)
    if (this.#buffer.length < 4 + length) return undefined
    let frame: unknown
    try {
      frame = JSON.parse(this.#buffer.subarray(4, 4 + length).toString('utf8'))
    } catch {
      throw new FrameError('frame is not JSON')
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) throw new FrameError('frame is not a JSON object')
    return { frame: frame as Record<string, unknown>, rest: this.#buffer.subarray(4 + length) }
  }
}
