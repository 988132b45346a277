// Clocks for deciding whether something has expired. The wall clock of a laptop can be wrong or
// be set back; time since boot cannot (on Linux it is CLOCK_BOOTTIME, which also counts suspend).
// A reading since boot means something only within the same boot, hence the boot id.
import { readFileSync } from 'node:fs'
import { uptime } from 'node:os'

export interface Clock {
  /** Wall-clock epoch ms. */
  wallMs(): number
  /** Milliseconds since this machine booted. */
  bootMs(): number
  /** Identifies the current boot. */
  bootId(): string
}

let boot: string | undefined

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  bootMs: () => uptime() * 1000,
  bootId() {
    boot ??= readBootId()
    return boot
  },
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    // Elsewhere: the boot time to the minute. A wall clock moved since boot changes it, which only
    // makes the cache fall back to the wall clock; it never makes an entry live longer.
    return `boot@${Math.round((Date.now() - uptime() * 1000) / 60_000)}`
  }
}

/** Milliseconds from the monotonic clock: for durations, never for dates. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6
