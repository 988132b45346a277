// The refusal of a device assertion whose time is outside what the broker accepts. It names the
// clock and the measured offset, and carries the broker's own time, so the CLI can tell the
// person what is wrong (never "enroll again", which cannot help) and can sign with the broker's
// time when the offset is small enough to correct.
import { ApiError } from './api-error.js'

/** How far a device clock may be ahead of the broker's (iat), and behind it (exp, which is iat + 60 s). */
export const CLOCK_SKEW_SECONDS = 30

export function clockSkewRefusal(deviceIatSeconds: number, brokerNowSeconds: number): ApiError {
  const offsetSeconds = Math.round(deviceIatSeconds - brokerNowSeconds)
  const direction = offsetSeconds >= 0 ? 'ahead of' : 'behind'
  return new ApiError(401, 'auth-failed', `This device's clock is ${Math.abs(offsetSeconds)}s ${direction} the broker's clock (device ${iso(deviceIatSeconds)}, broker ${iso(brokerNowSeconds)}): its signed request is outside the time the broker accepts.`, {
    nextSteps: [
      'Set this computer\'s clock right and keep it synchronised: Linux: timedatectl set-ntp true (or chronyc makestep); macOS: sudo sntp -sS time.apple.com; Windows: w32tm /resync.',
      'On a plant network without internet time, ask IT for the plant\'s NTP server. Enrolling again does not help.',
    ],
    clock: 'skewed',
    offsetSeconds,
    brokerTime: iso(brokerNowSeconds),
  })
}

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString()
