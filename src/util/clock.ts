/** Milliseconds from the monotonic clock: for durations, never for dates. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6
