// Maintenance windows and times of day in plant local time: edges, midnight, daylight saving.
import { describe, expect, it } from 'vitest'
import type { MaintenanceWindow, Weekday } from '../../../src/policy/types.js'
import { inTimeOfDay, inWindow, localTime } from '../../../src/policy/windows.js'

const w = (days: Weekday[], from: string, to: string, timeZone = 'Europe/Berlin'): MaintenanceWindow => {
  const m = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3))
  return { days, start: m(from), end: m(to), timeZone }
}

describe('local wall-clock time', () => {
  it.each([
    ['2026-03-28T02:00:00Z', 'Europe/Berlin', 'sat', '03:00'],
    ['2026-07-04T02:00:00Z', 'Europe/Berlin', 'sat', '04:00'], // summer time
    ['2026-03-29T00:59:00Z', 'Europe/Berlin', 'sun', '01:59'],
    ['2026-03-29T01:00:00Z', 'Europe/Berlin', 'sun', '03:00'], // clocks jump 02:00 → 03:00
    ['2026-10-25T00:30:00Z', 'Europe/Berlin', 'sun', '02:30'], // first 02:30 (CEST)
    ['2026-10-25T01:30:00Z', 'Europe/Berlin', 'sun', '02:30'], // second 02:30 (CET)
    ['2026-03-28T02:00:00Z', 'America/Chicago', 'fri', '21:00'],
    ['2026-03-28T02:00:00Z', 'Asia/Kolkata', 'sat', '07:30'],
  ])('%s in %s is %s %s', (iso, zone, day, clock) => {
    const t = localTime(Date.parse(iso), zone)
    expect(t.day).toBe(day)
    expect(`${String(Math.floor(t.minute / 60)).padStart(2, '0')}:${String(t.minute % 60).padStart(2, '0')}`).toBe(clock)
  })
})

describe('maintenance windows', () => {
  const saturday = w(['sat'], '02:00', '06:00')
  const overnight = w(['fri'], '22:00', '02:00')
  const sundayNight = w(['sun'], '01:00', '04:00')
  const cases: { name: string; window: MaintenanceWindow; at: string; inside: boolean }[] = [
    { name: 'Saturday 03:00 local is inside Sat 02:00–06:00', window: saturday, at: '2026-03-28T03:00:00+01:00', inside: true },
    { name: 'the start minute is inside', window: saturday, at: '2026-03-28T02:00:00+01:00', inside: true },
    { name: 'the end minute is outside', window: saturday, at: '2026-03-28T06:00:00+01:00', inside: false },
    { name: 'one minute before the start is outside', window: saturday, at: '2026-03-28T01:59:00+01:00', inside: false },
    { name: 'the same clock time on a Friday is outside', window: saturday, at: '2026-03-27T03:00:00+01:00', inside: false },
    { name: 'plant local time counts, not UTC (03:00 UTC = 04:00 Berlin)', window: saturday, at: '2026-03-28T03:00:00Z', inside: true },
    { name: 'plant local time counts, not UTC (05:30 UTC = 06:30 Berlin)', window: saturday, at: '2026-03-28T05:30:00Z', inside: false },
    // Crossing midnight: Friday 22:00 to Saturday 02:00.
    { name: 'crossing midnight: Friday 23:00 is inside', window: overnight, at: '2026-03-27T23:00:00+01:00', inside: true },
    { name: 'crossing midnight: Saturday 00:00 is inside', window: overnight, at: '2026-03-28T00:00:00+01:00', inside: true },
    { name: 'crossing midnight: Saturday 01:59 is inside', window: overnight, at: '2026-03-28T01:59:00+01:00', inside: true },
    { name: 'crossing midnight: Saturday 02:00 is outside', window: overnight, at: '2026-03-28T02:00:00+01:00', inside: false },
    { name: 'crossing midnight: Friday 21:59 is outside', window: overnight, at: '2026-03-27T21:59:00+01:00', inside: false },
    { name: 'crossing midnight: Thursday 23:00 is outside', window: overnight, at: '2026-03-26T23:00:00+01:00', inside: false },
    { name: 'crossing midnight: Friday 01:00 (Thursday night) is outside', window: overnight, at: '2026-03-27T01:00:00+01:00', inside: false },
    { name: 'crossing midnight: Saturday 23:00 is outside', window: overnight, at: '2026-03-28T23:00:00+01:00', inside: false },
    // Spring forward in Berlin, Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST. The window
    // Sun 01:00–04:00 lasts two real hours that day: 00:00Z–02:00Z.
    { name: 'DST spring: 00:00Z (01:00 CET) opens the window', window: sundayNight, at: '2026-03-29T00:00:00Z', inside: true },
    { name: 'DST spring: 01:00Z (03:00 CEST, right after the jump) is inside', window: sundayNight, at: '2026-03-29T01:00:00Z', inside: true },
    { name: 'DST spring: 01:59Z (03:59 CEST) is inside', window: sundayNight, at: '2026-03-29T01:59:00Z', inside: true },
    { name: 'DST spring: 02:00Z (04:00 CEST) is outside: the window was two hours long', window: sundayNight, at: '2026-03-29T02:00:00Z', inside: false },
    // Fall back, Sunday 2026-10-25: 03:00 CEST becomes 02:00 CET; the window lasts four real hours: 23:00Z–03:00Z.
    { name: 'DST autumn: 23:00Z Saturday (01:00 CEST) opens the window', window: sundayNight, at: '2026-10-24T23:00:00Z', inside: true },
    { name: 'DST autumn: 00:30Z (first 02:30) is inside', window: sundayNight, at: '2026-10-25T00:30:00Z', inside: true },
    { name: 'DST autumn: 01:30Z (second 02:30) is inside', window: sundayNight, at: '2026-10-25T01:30:00Z', inside: true },
    { name: 'DST autumn: 02:59Z (03:59 CET) is inside: the window was four hours long', window: sundayNight, at: '2026-10-25T02:59:00Z', inside: true },
    { name: 'DST autumn: 03:00Z (04:00 CET) is outside', window: sundayNight, at: '2026-10-25T03:00:00Z', inside: false },
    { name: 'DST autumn: 22:59Z Saturday (00:59 CEST) is outside', window: sundayNight, at: '2026-10-24T22:59:00Z', inside: false },
    // US change day, a week earlier than Europe: Sunday 2026-03-08 in Chicago.
    { name: 'DST in Chicago: 07:30Z (01:30 CST) is inside', window: w(['sun'], '01:00', '04:00', 'America/Chicago'), at: '2026-03-08T07:30:00Z', inside: true },
    { name: 'DST in Chicago: 08:30Z (03:30 CDT) is inside', window: w(['sun'], '01:00', '04:00', 'America/Chicago'), at: '2026-03-08T08:30:00Z', inside: true },
    { name: 'DST in Chicago: 09:00Z (04:00 CDT) is outside', window: w(['sun'], '01:00', '04:00', 'America/Chicago'), at: '2026-03-08T09:00:00Z', inside: false },
    // A window that crosses midnight on the spring-forward night.
    { name: 'overnight across the DST jump: Sun 01:30 CET is inside Sat 23:00–03:00', window: w(['sat'], '23:00', '03:00'), at: '2026-03-29T00:30:00Z', inside: true },
    { name: 'overnight across the DST jump: 01:00Z is already 03:00 CEST: outside', window: w(['sat'], '23:00', '03:00'), at: '2026-03-29T01:00:00Z', inside: false },
    { name: 'daily 00:00–24:00 covers the whole day', window: w(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], '00:00', '24:00'), at: '2026-03-29T01:00:00Z', inside: true },
  ]
  it.each(cases)('$name', ({ window, at, inside }) => {
    expect(inWindow(window, Date.parse(at))).toBe(inside)
  })
})

describe('time of day', () => {
  const weekdays: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri']
  const dayShift = { from: 6 * 60, to: 22 * 60, days: weekdays }
  const night = { from: 22 * 60, to: 6 * 60, days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as Weekday[] }
  it.each([
    { span: dayShift, at: '2026-03-24T06:00:00+01:00', inside: true },
    { span: dayShift, at: '2026-03-24T21:59:00+01:00', inside: true },
    { span: dayShift, at: '2026-03-24T22:00:00+01:00', inside: false },
    { span: dayShift, at: '2026-03-28T12:00:00+01:00', inside: false },
    { span: night, at: '2026-03-24T23:00:00+01:00', inside: true },
    { span: night, at: '2026-03-25T05:59:00+01:00', inside: true },
    { span: night, at: '2026-03-25T06:00:00+01:00', inside: false },
    { span: night, at: '2026-03-25T12:00:00+01:00', inside: false },
  ])('$at → $inside', ({ span, at, inside }) => {
    expect(inTimeOfDay(span, 'Europe/Berlin', Date.parse(at))).toBe(inside)
  })
})
