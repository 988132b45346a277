// Bounds the handshakes in progress (from the first TCP byte until a tunnel is admitted or the
// connection closes): at most MAX_PER_SOURCE for one source and MAX_TOTAL in all. Without the
// per-source share, one address that opens connections and never answers the challenge fills
// every slot until the handshake deadline, and every other client is turned away meanwhile.

export const MAX_PENDING_HANDSHAKES = 256
export const MAX_PENDING_HANDSHAKES_PER_SOURCE = 32

export class HandshakeSlots {
  readonly #bySource = new Map<string, number>()
  #total = 0

  constructor(readonly maxTotal = MAX_PENDING_HANDSHAKES, readonly maxPerSource = MAX_PENDING_HANDSHAKES_PER_SOURCE) {}

  /** A slot for a connection from `address`, and the function that frees it (once, however often called); undefined when none is free. */
  take(address: string): (() => void) | undefined {
    const source = sourceOf(address)
    const held = this.#bySource.get(source) ?? 0
    if (held >= this.maxPerSource || this.#total >= this.maxTotal) return undefined
    this.#bySource.set(source, held + 1)
    this.#total++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#total--
      const left = (this.#bySource.get(source) ?? 1) - 1
      if (left > 0) this.#bySource.set(source, left)
      else this.#bySource.delete(source)
    }
  }

  get total(): number {
    return this.#total
  }
}

/**
 * Who a share belongs to: an IPv4 address (also when written IPv4-mapped), or the /64 prefix of an
 * IPv6 address (one host is routinely given a whole /64, so single addresses would not bound it).
 */
export function sourceOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]
  if (!address.includes(':')) return address
  const [head, tail = ''] = address.toLowerCase().split('%')[0].split('::')
  const front = head ? head.split(':') : []
  const back = address.includes('::') && tail ? tail.split(':') : []
  const groups = address.includes('::') ? [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back] : front
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
