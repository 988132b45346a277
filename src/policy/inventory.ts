// The asset inventory: ISA-95 paths with the attributes the policy decides on (owner group,
// safety-critical, state, maintenance windows, vendors under contract). Assets are stored as a
// path and a JSON attribute object; this module owns that object's shape, reads it back as
// facts for a decision, and loads inventory files (YAML) with line-precise errors.
import { Ajv } from 'ajv'
import { isAssetPath } from './asset-pattern.js'
import { assetStates, clock, names, timeZone, weekdays } from './schema.js'
import { targetProblems, targetSchema, type TargetSpec } from './target.js'
import { ASSET_STATES, WEEKDAYS, type AssetFacts, type AssetState, type MaintenanceWindow, type Weekday } from './types.js'
import { isTimeZone, parseClock } from './windows.js'
import { parseYamlSource, readSourceFile, type YamlPath } from './yaml-source.js'

/** A maintenance window as stored and as written in files: local clock times. */
export interface StoredWindow {
  days: Weekday[]
  from: string
  to: string
  timezone?: string
}

/** The attribute object of an asset in the store. Unknown keys are kept as they are. */
export interface AssetAttributes {
  owner?: string
  safetyCritical?: boolean
  state?: AssetState
  timezone?: string
  windows?: StoredWindow[]
  vendors?: string[]
  [other: string]: unknown
}

export interface InventoryAsset {
  path: string
  attributes: AssetAttributes
}

/** Reads stored attributes as facts. Anything malformed counts against access (fail closed). */
export function factsOf(path: string, attributes: Record<string, unknown>): AssetFacts {
  const a = attributes as AssetAttributes
  const state = a.state === undefined ? 'running' : ASSET_STATES.includes(a.state) ? a.state : 'offline'
  const zone = typeof a.timezone === 'string' && isTimeZone(a.timezone) ? a.timezone : undefined
  const windows: MaintenanceWindow[] = []
  for (const w of Array.isArray(a.windows) ? a.windows : []) {
    const start = parseClock(String(w?.from))
    const end = parseClock(String(w?.to))
    const tz = typeof w?.timezone === 'string' ? w.timezone : zone
    const days = Array.isArray(w?.days) ? w.days.filter((d): d is Weekday => WEEKDAYS.includes(d)) : []
    if (start === undefined || end === undefined || !tz || !isTimeZone(tz) || days.length === 0) continue
    windows.push({ days, start, end, timeZone: tz })
  }
  return {
    path,
    owner: typeof a.owner === 'string' ? a.owner : undefined,
    safetyCritical: a.safetyCritical === true,
    state,
    timeZone: zone,
    windows,
    vendors: Array.isArray(a.vendors) ? a.vendors.filter((v): v is string => typeof v === 'string') : [],
    ...(a.protocol === 'modbus-tcp' ? { protocol: 'modbus-tcp' as const } : {}),
  }
}

/** "sat 02:00-06:00" or "fri,sat 22:00-02:00" or "daily 00:00-04:00", as typed on a command line. */
export function parseWindowSpec(text: string, timezone?: string): StoredWindow | undefined {
  const match = /^\s*([a-z,]+)\s+(\d\d:\d\d)\s*[-–]\s*(\d\d:\d\d)\s*$/i.exec(text)
  if (!match) return undefined
  const days = match[1].toLowerCase() === 'daily' ? [...WEEKDAYS] : match[1].toLowerCase().split(',')
  if (!days.every((d): d is Weekday => (WEEKDAYS as readonly string[]).includes(d))) return undefined
  if (parseClock(match[2]) === undefined || parseClock(match[3]) === undefined || match[2] === match[3]) return undefined
  return { days: days as Weekday[], from: match[2], to: match[3], ...(timezone ? { timezone } : {}) }
}

/** Problems with an attribute object, in words; empty when it is good to store. */
export function attributeProblems(attributes: AssetAttributes): string[] {
  const problems: string[] = []
  if (attributes.state !== undefined && !ASSET_STATES.includes(attributes.state)) problems.push(`state must be one of ${ASSET_STATES.join(', ')}`)
  if (attributes.timezone !== undefined && !isTimeZone(attributes.timezone)) problems.push(`"${attributes.timezone}" is not a time zone (e.g. Europe/Berlin)`)
  for (const w of attributes.windows ?? []) {
    const tz = w.timezone ?? attributes.timezone
    if (!tz) problems.push('a maintenance window needs a time zone: give the asset one (--timezone) or the window')
    else if (!isTimeZone(tz)) problems.push(`"${tz}" is not a time zone (e.g. Europe/Berlin)`)
  }
  if (attributes.target !== undefined) problems.push(...targetProblems(attributes.target))
  return problems
}

const windowSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['days', 'from', 'to'],
  properties: { days: weekdays, from: clock, to: clock, timezone: timeZone },
} as const

export const inventorySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'assets'],
  properties: {
    version: { const: 1 },
    timezone: timeZone,
    assets: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path'],
        properties: {
          path: { type: 'string', minLength: 1 },
          owner: { type: 'string', minLength: 1 },
          safety_critical: { type: 'boolean' },
          state: assetStates,
          timezone: timeZone,
          maintenance_windows: { type: 'array', items: windowSchema },
          vendors: names,
          ssh: {
            type: 'object',
            additionalProperties: false,
            required: ['host'],
            properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 1, maximum: 65535 }, principals: names },
          },
          gateway: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'endpoint'],
            properties: { name: { type: 'string', pattern: '^[a-z][a-z0-9._-]{0,63}$' }, endpoint: { type: 'string', pattern: '^.+:[0-9]{1,5}$' }, scopes: names, terminal: { type: 'boolean' }, protocol: { enum: ['modbus-tcp'] } },
          },
          target: targetSchema,
        },
      },
    },
  },
} as const

const validateInventory = new Ajv({ allErrors: true, strict: false }).compile(inventorySchema)

interface RawInventory {
  timezone?: string
  assets: {
    path: string
    owner?: string
    safety_critical?: boolean
    state?: AssetState
    timezone?: string
    maintenance_windows?: { days: Weekday[]; from: string; to: string; timezone?: string }[]
    vendors?: string[]
    ssh?: { host: string; port?: number; principals?: string[] }
    /** The jit gateway in front of the asset and the endpoint it connects to. */
    gateway?: { name: string; endpoint: string; scopes?: string[]; terminal?: boolean; protocol?: 'modbus-tcp' }
    /** The system where each session gets an account of its own (target.ts). */
    target?: TargetSpec
  }[]
}

export function parseInventory(text: string, file = '<inventory>'): InventoryAsset[] {
  const source = parseYamlSource<RawInventory>(text, file, validateInventory)
  const { data } = source
  const checkZone = (zone: string | undefined, path: YamlPath) => {
    if (zone !== undefined && !isTimeZone(zone)) source.report(path, `"${zone}" is not a time zone; expected an IANA name such as Europe/Berlin`)
  }
  checkZone(data.timezone, ['timezone'])
  const seen = new Set<string>()
  const assets = data.assets.map((raw, i): InventoryAsset => {
    if (!isAssetPath(raw.path)) source.report(['assets', i, 'path'], `"${raw.path}" is not an asset path (site/area/line/cell/asset: lower-case letters, digits, . _ -)`)
    if (seen.has(raw.path)) source.report(['assets', i, 'path'], `asset ${raw.path} is listed twice`)
    seen.add(raw.path)
    checkZone(raw.timezone, ['assets', i, 'timezone'])
    const zone = raw.timezone ?? data.timezone
    const windows = (raw.maintenance_windows ?? []).map((w, j) => {
      checkZone(w.timezone, ['assets', i, 'maintenance_windows', j, 'timezone'])
      if (!w.timezone && !zone) source.report(['assets', i, 'maintenance_windows', j], 'a maintenance window needs a time zone: set timezone on the window, the asset or the file')
      if (w.from === w.to) source.report(['assets', i, 'maintenance_windows', j, 'to'], 'a window must not start and end at the same time')
      return { days: w.days, from: w.from, to: w.to, ...(w.timezone ? { timezone: w.timezone } : {}) }
    })
    const attributes: AssetAttributes = { state: raw.state ?? 'running', safetyCritical: raw.safety_critical ?? false }
    if (raw.owner) attributes.owner = raw.owner
    if (zone) attributes.timezone = zone
    if (windows.length > 0) attributes.windows = windows
    if (raw.vendors) attributes.vendors = raw.vendors
    if (raw.ssh) attributes.ssh = raw.ssh
    if (raw.gateway) {
      const port = Number(raw.gateway.endpoint.slice(raw.gateway.endpoint.lastIndexOf(':') + 1))
      if (port < 1 || port > 65535) source.report(['assets', i, 'gateway', 'endpoint'], `"${raw.gateway.endpoint}" is not HOST:PORT (port 1-65535)`)
      Object.assign(attributes, { gateway: raw.gateway.name, endpoint: raw.gateway.endpoint }, raw.gateway.scopes ? { endpointScopes: raw.gateway.scopes } : {}, raw.gateway.terminal ? { terminal: true } : {}, raw.gateway.protocol ? { protocol: raw.gateway.protocol } : {})
    }
    if (raw.target) {
      for (const problem of targetProblems(raw.target)) source.report(['assets', i, 'target'], problem)
      attributes.target = raw.target
    }
    return { path: raw.path, attributes }
  })
  source.done()
  return assets
}

export function loadInventoryFile(file: string): InventoryAsset[] {
  return parseInventory(readSourceFile(file), file)
}
