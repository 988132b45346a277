// Local wall-clock time in a plant's time zone, and recurring windows over it. Windows are
// wall-clock on purpose: "Saturdays 02:00–06:00" means what the plant's clocks show, so on a
// daylight-saving change day the window is an hour shorter or longer in real time.
import { WEEKDAYS, type MaintenanceWindow, type TimeOfDay, type Weekday } from './types.js'

export interface LocalTime {
  day: Weekday
  /** Minutes after local midnight. */
  minute: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()
const DAY_OF: Record<string, Weekday> = { Sun: 'sun', Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat' }

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    formatters.set(timeZone, f)
  }
  return f
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone)
    return true
  } catch {
    return false
  }
}

export function localTime(atMs: number, timeZone: string): LocalTime {
  let day: Weekday = 'sun'
  let hour = 0
  let minute = 0
  for (const part of formatter(timeZone).formatToParts(atMs)) {
    if (part.type === 'weekday') day = DAY_OF[part.value]
    else if (part.type === 'hour') hour = Number(part.value)
    else if (part.type === 'minute') minute = Number(part.value)
  }
  return { day, minute: hour * 60 + minute }
}

const previousDay = (day: Weekday): Weekday => WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7]

/** Whether local time t falls in a recurring span that starts on one of days. */
function inSpan(t: LocalTime, days: readonly Weekday[], start: number, end: number): boolean {
  if (start < end) return days.includes(t.day) && t.minute >= start && t.minute < end
  // Crosses midnight (or lasts a whole day when start == end): the part after midnight
  // belongs to the day the window started on.
  return (days.includes(t.day) && t.minute >= start) || (days.includes(previousDay(t.day)) && t.minute < end)
}

export function inWindow(window: MaintenanceWindow, atMs: number): boolean {
  return inSpan(localTime(atMs, window.timeZone), window.days, window.start, window.end)
}

export function inTimeOfDay(span: TimeOfDay, timeZone: string, atMs: number): boolean {
  return inSpan(localTime(atMs, timeZone), span.days, span.from, span.to)
}

export function parseClock(text: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text)
  return match ? Number(match[1]) * 60 + Number(match[2]) : text === '24:00' ? 1440 : undefined
}

export function formatClock(minute: number): string {
  return `${String(Math.floor(minute / 60) % 24).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`
}

const cap = (day: string) => day[0].toUpperCase() + day.slice(1)

function describeDays(days: readonly Weekday[]): string {
  if (days.length === 7) return 'daily'
  return days.map(cap).join('/')
}

/** "Sat 02:00–06:00 Europe/Berlin", as a technician would read it. */
export function describeWindow(window: MaintenanceWindow): string {
  return `${describeDays(window.days)} ${formatClock(window.start)}–${formatClock(window.end)} ${window.timeZone}`
}

export function describeTimeOfDay(span: TimeOfDay, timeZone: string): string {
  return `${describeDays(span.days)} ${formatClock(span.from)}–${formatClock(span.to)} ${timeZone}`
}

/** "Tue 14:05": the local day and clock time. */
export function describeClock(atMs: number, timeZone: string): string {
  const t = localTime(atMs, timeZone)
  return `${cap(t.day)} ${formatClock(t.minute)}`
}

export const describeLocal = (atMs: number, timeZone: string) => `${describeClock(atMs, timeZone)} ${timeZone}`
