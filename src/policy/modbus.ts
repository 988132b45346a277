// What a rule lets each of its scopes send to a Modbus/TCP asset (`modbus:` in a rule). Every
// scope may read; a scope under `writes` may write the coil and register ranges listed for it
// (per unit, or any unit); a scope under `programming` may send the diagnostic and programming
// functions that can stop or reprogram a controller. The gateway enforces it per request.
import type { AddressRange, ModbusGrant } from '../wire/gateway.js'
import type { ModbusRule, Rule } from './types.js'

/** As written in the policy file. */
export interface RawModbus {
  writes?: Record<string, { unit?: number; coils?: string; registers?: string }[]>
  programming?: string[]
}

export const modbusSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    writes: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            unit: { type: 'integer', minimum: 0, maximum: 255 },
            coils: { type: 'string', minLength: 1 },
            registers: { type: 'string', minLength: 1 },
          },
        },
      },
    },
    programming: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true },
  },
} as const

/** Parses "0-99,120,200-299" into inclusive ranges; undefined when it is not such a list. */
export function parseRanges(text: string): AddressRange[] | undefined {
  const ranges: AddressRange[] = []
  for (const part of text.split(',')) {
    const match = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(part)
    if (!match) return undefined
    const lo = Number(match[1])
    const hi = match[2] === undefined ? lo : Number(match[2])
    if (lo > hi || hi > 65535) return undefined
    ranges.push([lo, hi])
  }
  return ranges
}

/** Loads a rule's `modbus:`; `report` names each problem at its place (a scope the rule does not grant, a range that is not one). */
export function compileModbus(raw: RawModbus, scopes: string[], report: (path: (string | number)[], message: string) => void): ModbusRule {
  const writes: ModbusRule['writes'] = {}
  for (const [scope, entries] of Object.entries(raw.writes ?? {})) {
    if (!scopes.includes(scope)) report(['writes', scope], `scope "${scope}" is not one of this rule's scopes (${scopes.join(', ')})`)
    writes[scope] = entries.map((entry, j) => {
      const ranges = (kind: 'coils' | 'registers') => {
        if (entry[kind] === undefined) return {}
        const parsed = parseRanges(entry[kind])
        if (!parsed) report(['writes', scope, j, kind], `"${entry[kind]}" is not a list of addresses 0-65535 (e.g. "0-99,120")`)
        return parsed ? { [kind]: parsed } : {}
      }
      if (entry.coils === undefined && entry.registers === undefined) report(['writes', scope, j], 'name the coils, the registers, or both, this scope may write')
      return { ...(entry.unit !== undefined ? { unit: entry.unit } : {}), ...ranges('coils'), ...ranges('registers') }
    })
  }
  for (const [j, scope] of (raw.programming ?? []).entries()) {
    if (!scopes.includes(scope)) report(['programming', j], `scope "${scope}" is not one of this rule's scopes (${scopes.join(', ')})`)
  }
  return { writes, programming: raw.programming ?? [] }
}

/** What a session of `scope` opened by `rule` may send beyond reading; read-only without a rule or a `modbus:` in it. */
export function modbusGrant(rule: Pick<Rule, 'modbus'> | undefined, scope: string): ModbusGrant {
  return { writes: rule?.modbus?.writes[scope] ?? [], programming: rule?.modbus?.programming.includes(scope) ?? false }
}

/** The grant in words, for `jit policy explain`. */
export function describeModbusGrant(grant: ModbusGrant): string[] {
  const ranges = (list: AddressRange[] | undefined) => (list ?? []).map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',')
  const writes = grant.writes.map((entry) => {
    const what = [entry.coils ? `coils ${ranges(entry.coils)}` : '', entry.registers ? `holding registers ${ranges(entry.registers)}` : ''].filter(Boolean).join(' and ')
    return `writes (5, 6, 15, 16, 22, 23) to ${what} of ${entry.unit === undefined ? 'any unit' : `unit ${entry.unit}`}`
  })
  return [
    'reads (1, 2, 3, 4, 43/14)',
    ...(writes.length > 0 ? writes : ['no writes (answered with exception 01)']),
    grant.programming ? 'diagnostic and programming functions (8, 17, vendor codes)' : 'no diagnostic or programming functions (exception 01)',
  ]
}
