// The broker's clock as this process has learned it. A device whose clock drifted (OT networks
// often have no time server) signs its requests with a time the broker refuses; the refusal
// carries the broker's time, and the client then signs with its own clock plus the measured
// offset, for the rest of the process. Only a bounded offset is corrected: a clock hours or days
// off is a broken clock that the person must fix (TLS and logs suffer too), and is reported as
// such (exit 9, naming the clock and the offset). The broker still judges every assertion by its
// own clock, with the same window and replay protection, so the correction widens nothing there.

/** The largest offset corrected by signing with the broker's time. */
export const MAX_CORRECTED_SKEW_SECONDS = 15 * 60

export class BrokerClock {
  #offsetMs = 0

  /** Now, by the broker's clock as far as this process knows it. */
  nowMs(): number {
    return Date.now() + this.#offsetMs
  }

  get offsetMs(): number {
    return this.#offsetMs
  }

  /**
   * Learns the offset from a refusal that carries the broker's time, measured when the answer
   * arrived. Returns the offset in seconds when it is small enough to correct, else undefined.
   */
  learn(brokerTime: unknown, localMsAtAnswer: number): number | undefined {
    const brokerMs = typeof brokerTime === 'string' ? Date.parse(brokerTime) : Number.NaN
    if (!Number.isFinite(brokerMs)) return undefined
    const offsetMs = brokerMs - localMsAtAnswer
    if (Math.abs(offsetMs) > MAX_CORRECTED_SKEW_SECONDS * 1000) return undefined
    this.#offsetMs = offsetMs
    return Math.round(offsetMs / 1000)
  }
}
