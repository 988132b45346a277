// Loads a policy file: YAML → schema validation → semantic checks → a compiled Policy with its
// rule index. Every problem is reported with file, line and column and what was expected; a
// file with any problem yields no policy at all.
import { createHash } from 'node:crypto'
import { Ajv } from 'ajv'
import { parseDuration } from '../util/ttl.js'
import { assetPatternError } from './asset-pattern.js'
import { compileModbus, type RawModbus } from './modbus.js'
import { buildRuleIndex } from './rule-index.js'
import { policySchema } from './schema.js'
import type { AssetState, BreakGlassPolicy, ConnectorAuth, IdentityProvider, Policy, Rule, SecretRef, TicketSystemConfig, Weekday, Who } from './types.js'
import { WEEKDAYS } from './types.js'
import { isTimeZone, parseClock } from './windows.js'
import { sourceHostProblem } from './workload-rules.js'
import { parseYamlSource, readSourceFile, type Hint, type YamlPath, type YamlSource } from './yaml-source.js'

export { PolicyLoadError, type PolicyProblem } from './yaml-source.js'

/** No rule grants longer than a week; break-glass is short by nature. */
const RULE_TTL_CAP_SECONDS = 7 * 86400
const BREAK_GLASS_TTL_CAP_SECONDS = 4 * 3600
const REVIEW_DUE_CAP_SECONDS = 14 * 86400

const validate = new Ajv({ allErrors: true, strict: false }).compile(policySchema)

interface RawRule {
  name: string
  description?: string
  who: Who
  assets: string[]
  asset_attributes?: { safety_critical?: boolean; owner?: string[] }
  scopes: string[]
  max_ttl: string
  ticket?: { required?: boolean; systems?: string[]; on_unreachable?: 'deny' | 'allow' }
  conditions?: {
    asset_state?: AssetState[]
    in_maintenance_window?: boolean
    intent?: string[]
    source_host?: string[]
    time_of_day?: { from: string; to: string; days?: Weekday[]; timezone?: string }
  }
  approval?: 'none' | { count: number; from_roles?: string[]; from_owner_group?: boolean }
  cache?: boolean
  exclusive?: boolean
  modbus?: RawModbus
}

interface RawTicketSystem {
  connector: TicketSystemConfig['connector']
  cache_ttl?: string
  poll_interval?: string
  timeout?: string
  webhook_secret?: SecretRef
  url?: string
  auth?: ConnectorAuth
  table?: TicketSystemConfig['table']
  closed_states?: string[]
  open_states?: string[]
  asset_field?: string
  org_field?: string
  user_format?: string
  url_template?: string
  state_path?: string
  assignee_path?: string
  org_path?: string
  asset_path?: string
  title_path?: string
}

interface RawIdentityProvider {
  name: string
  issuer: string
  client_id: string
  client_secret?: SecretRef
  scopes?: string[]
  user_claim: string
  groups_claim?: string
  groups: Record<string, string[]>
  max_age: string
}

interface RawPolicy {
  timezone?: string
  tickets?: { formats?: { system: string; pattern: string }[]; systems?: Record<string, RawTicketSystem> }
  identity_providers?: RawIdentityProvider[]
  rules: RawRule[]
  break_glass?: { who: Who; assets: string[]; scopes: string[]; max_ttl: string; notify: string[]; review_due: string }
}

const hint: Hint = (keyword, path) => {
  const key = path.at(-1)
  if (keyword === 'pattern' && (key === 'max_ttl' || key === 'review_due')) return 'expected a duration such as 30m, 2h or 1h30m'
  if (keyword === 'pattern' && (key === 'from' || key === 'to')) return 'expected a clock time HH:MM, such as 06:00 or 22:30'
  if (keyword === 'pattern' && key === 'name') return 'expected lower-case letters, digits and dashes'
  if (keyword === 'oneOf' && key === 'approval') return 'expected "none" or { count, from_roles and/or from_owner_group }'
  if (keyword === 'minProperties' && key === 'who') return 'name at least one of users, roles, orgs, workloads'
  if (keyword === 'pattern' && key === 'max_age') return 'expected a duration such as 5m or 1h'
  if (key === 'bearer' || key === 'password' || key === 'webhook_secret' || key === 'client_secret') return 'expected { env: VARIABLE } or { file: PATH }: a credential is named in the policy, never written in it'
  return undefined
}

export function loadPolicyFile(file: string): Policy {
  return parsePolicy(readSourceFile(file), file)
}

export function parsePolicy(text: string, file = '<policy>'): Policy {
  const source = parseYamlSource<RawPolicy>(text, file, validate, hint)
  const raw = source.data
  const zone = (value: string | undefined, path: YamlPath) => {
    if (value !== undefined && !isTimeZone(value)) source.report(path, `"${value}" is not a time zone; expected an IANA name such as Europe/Berlin`)
    return value
  }
  const timeZone = zone(raw.timezone, ['timezone']) ?? 'UTC'

  const ticketFormats = (raw.tickets?.formats ?? []).flatMap((format, i) => {
    try {
      return [{ system: format.system, pattern: new RegExp(format.pattern) }]
    } catch {
      source.report(['tickets', 'formats', i, 'pattern'], `not a valid regular expression: ${format.pattern}`)
      return []
    }
  })
  const systems = new Set(ticketFormats.map((f) => f.system))
  const ticketSystems = compileTicketSystems(source, raw.tickets?.systems ?? {}, systems)

  const identityProviders = compileIdentityProviders(source, raw.identity_providers ?? [])
  const seen = new Set<string>()
  const rules = raw.rules.map((rule, i) => compileRule(source, rule, i, { seen, systems, zone }))
  const breakGlass = raw.break_glass ? compileBreakGlass(source, raw.break_glass) : undefined
  source.done()
  return {
    ticketFormats,
    ticketSystems,
    identityProviders,
    rules,
    breakGlass,
    timeZone,
    source: file,
    digest: createHash('sha256').update(text).digest('hex'),
    index: buildRuleIndex(rules),
  }
}

function ttl(source: YamlSource<unknown>, text: string, path: YamlPath, cap: number, what: string): number {
  let seconds = 0
  try {
    seconds = parseDuration(text)
  } catch {
    // The schema already reported the shape.
  }
  if (seconds <= 0 || seconds > cap) source.report(path, `${what} must be more than 0 and at most ${cap / 86400 >= 1 ? `${cap / 86400}d` : `${cap / 3600}h`}`)
  return seconds
}

function patterns(source: YamlSource<unknown>, list: string[], path: YamlPath): void {
  list.forEach((pattern, j) => {
    const problem = assetPatternError(pattern)
    if (problem) source.report([...path, j], `asset pattern ${problem}`)
  })
}

function compileRule(
  source: YamlSource<unknown>,
  rule: RawRule,
  i: number,
  known: { seen: Set<string>; systems: Set<string>; zone: (value: string | undefined, path: YamlPath) => string | undefined },
): Rule {
  const at = (...path: YamlPath): YamlPath => ['rules', i, ...path]
  if (known.seen.has(rule.name)) source.report(at('name'), `rule name "${rule.name}" is used twice`)
  known.seen.add(rule.name)
  patterns(source, rule.assets, at('assets'))
  const maxTtlSeconds = ttl(source, rule.max_ttl, at('max_ttl'), RULE_TTL_CAP_SECONDS, 'max_ttl')

  for (const [j, system] of (rule.ticket?.systems ?? []).entries()) {
    if (!known.systems.has(system)) source.report(at('ticket', 'systems', j), `unknown ticket system "${system}"; tickets.formats names ${[...known.systems].join(', ') || 'none'}`)
  }

  const c = rule.conditions ?? {}
  let timeOfDay: Rule['conditions']['timeOfDay']
  if (c.time_of_day) {
    const from = parseClock(c.time_of_day.from) ?? 0
    const to = parseClock(c.time_of_day.to) ?? 0
    if (from === to) source.report(at('conditions', 'time_of_day', 'to'), 'time_of_day must not start and end at the same time')
    if (from === 1440) source.report(at('conditions', 'time_of_day', 'from'), 'time_of_day cannot start at 24:00; use 00:00')
    timeOfDay = { from, to, days: c.time_of_day.days ?? [...WEEKDAYS], timeZone: known.zone(c.time_of_day.timezone, at('conditions', 'time_of_day', 'timezone')) }
  }

  for (const [j, entry] of (c.source_host ?? []).entries()) {
    const problem = sourceHostProblem(entry)
    if (problem) source.report(at('conditions', 'source_host', j), problem)
  }

  let approval: Rule['approval'] = null
  if (rule.approval !== undefined && rule.approval !== 'none') {
    const fromRoles = rule.approval.from_roles ?? []
    const fromOwnerGroup = rule.approval.from_owner_group ?? false
    if (fromRoles.length === 0 && !fromOwnerGroup) source.report(at('approval'), 'say who approves: from_roles, from_owner_group: true, or both')
    approval = { count: rule.approval.count, fromRoles, fromOwnerGroup }
  }

  return {
    name: rule.name,
    description: rule.description,
    who: rule.who,
    assets: rule.assets,
    assetAttributes: rule.asset_attributes && { safetyCritical: rule.asset_attributes.safety_critical, owners: rule.asset_attributes.owner },
    scopes: rule.scopes,
    maxTtlSeconds,
    ticket: { required: rule.ticket?.required ?? true, systems: rule.ticket?.systems ?? [], onUnreachable: rule.ticket?.on_unreachable ?? 'deny' },
    conditions: { assetState: c.asset_state, inMaintenanceWindow: c.in_maintenance_window, timeOfDay, intent: c.intent, sourceHost: c.source_host },
    approval,
    cache: rule.cache ?? true,
    exclusive: rule.exclusive ?? false,
    ...(rule.modbus ? { modbus: compileModbus(rule.modbus, rule.scopes, (path, message) => source.report(at('modbus', ...path), message)) } : {}),
    index: i,
    line: source.lineOf(at()),
  }
}

/** Lookups are reused at most this long: a closed ticket must not keep opening sessions. */
const CACHE_TTL_CAP_SECONDS = 600
const POLL_INTERVAL_CAP_SECONDS = 600
const TIMEOUT_CAP_SECONDS = 60

/** What each connector cannot work without. */
const CONNECTOR_NEEDS: Record<TicketSystemConfig['connector'], (keyof RawTicketSystem)[]> = {
  builtin: [],
  servicenow: ['url', 'auth', 'table'],
  jira: ['url', 'auth', 'asset_field'],
  http: ['url_template', 'state_path', 'asset_path'],
}

function compileTicketSystems(source: YamlSource<unknown>, raw: Record<string, RawTicketSystem>, known: Set<string>): Record<string, TicketSystemConfig> {
  const compiled: Record<string, TicketSystemConfig> = {}
  for (const [system, r] of Object.entries(raw)) {
    const at = (...path: YamlPath): YamlPath => ['tickets', 'systems', system, ...path]
    if (!known.has(system)) source.report(at(), `ticket system "${system}" has no format; tickets.formats names ${[...known].join(', ') || 'none'}`)
    for (const key of CONNECTOR_NEEDS[r.connector] ?? []) {
      if (r[key] === undefined) source.report(at(), `the ${r.connector} connector needs ${key}`)
    }
    const seconds = (text: string | undefined, key: string, fallback: number, cap: number, min = 0) => {
      if (text === undefined) return fallback
      let value = -1
      try {
        value = parseDuration(text)
      } catch {
        // The schema already reported the shape.
      }
      if (value < min || value > cap) source.report(at(key), `${key} must be between ${min}s and ${cap}s`)
      return value
    }
    compiled[system] = {
      system,
      connector: r.connector,
      cacheTtlSeconds: seconds(r.cache_ttl, 'cache_ttl', 30, CACHE_TTL_CAP_SECONDS),
      pollIntervalSeconds: seconds(r.poll_interval, 'poll_interval', 30, POLL_INTERVAL_CAP_SECONDS, 1),
      timeoutSeconds: seconds(r.timeout, 'timeout', 5, TIMEOUT_CAP_SECONDS, 1),
      webhookSecret: r.webhook_secret,
      url: r.url?.replace(/\/+$/, ''),
      auth: r.auth,
      table: r.table,
      closedStates: r.closed_states,
      openStates: r.open_states,
      assetField: r.asset_field,
      orgField: r.org_field,
      userFormat: r.user_format ?? '{user}',
      urlTemplate: r.url_template,
      statePath: r.state_path,
      assigneePath: r.assignee_path,
      orgPath: r.org_path,
      assetPath: r.asset_path,
      titlePath: r.title_path,
    }
  }
  return compiled
}

function compileBreakGlass(source: YamlSource<unknown>, raw: NonNullable<RawPolicy['break_glass']>): BreakGlassPolicy {
  patterns(source, raw.assets, ['break_glass', 'assets'])
  raw.notify.forEach((target, j) => {
    if (!validNotifyTarget(target)) source.report(['break_glass', 'notify', j], `"${target}" is not a notification target; expected mailto:someone@example.com, https://hooks.example.com/..., or role:NAME`)
  })
  return {
    who: raw.who,
    assets: raw.assets,
    scopes: raw.scopes,
    maxTtlSeconds: ttl(source, raw.max_ttl, ['break_glass', 'max_ttl'], BREAK_GLASS_TTL_CAP_SECONDS, 'break-glass max_ttl'),
    notify: raw.notify,
    reviewDueSeconds: ttl(source, raw.review_due, ['break_glass', 'review_due'], REVIEW_DUE_CAP_SECONDS, 'review_due'),
  }
}

function validNotifyTarget(target: string): boolean {
  if (/^role:[a-z][a-z0-9._-]*$/.test(target)) return true
  if (/^mailto:[^@\s]+@[^@\s]+\.[^@\s]+$/.test(target)) return true
  if (!/^https?:\/\//.test(target)) return false
  try {
    return new URL(target).hostname.length > 0
  } catch {
    return false
  }
}

/** The IdP's answer about a user may be this old at most: a day. */
const MAX_AGE_CAP_SECONDS = 24 * 3600
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

function compileIdentityProviders(source: YamlSource<unknown>, raw: RawIdentityProvider[]): IdentityProvider[] {
  const names = new Set<string>()
  return raw.map((r, i) => {
    const at = (...path: YamlPath): YamlPath => ['identity_providers', i, ...path]
    if (names.has(r.name)) source.report(at('name'), `identity provider "${r.name}" is named twice`)
    names.add(r.name)
    // Tokens travel to the issuer: in the clear only to this host (a provider run beside the broker).
    let issuer: URL | undefined
    try {
      issuer = new URL(r.issuer)
    } catch {
      source.report(at('issuer'), `"${r.issuer}" is not a URL`)
    }
    if (issuer && issuer.protocol !== 'https:' && !LOOPBACK_HOSTS.has(issuer.hostname)) source.report(at('issuer'), 'an issuer must be https:// (plain http only on this host: 127.0.0.1, localhost)')
    let maxAgeSeconds = -1
    try {
      maxAgeSeconds = parseDuration(r.max_age)
    } catch {
      // The schema already reported the shape.
    }
    if (maxAgeSeconds < 1 || maxAgeSeconds > MAX_AGE_CAP_SECONDS) source.report(at('max_age'), `max_age must be between 1s and ${MAX_AGE_CAP_SECONDS / 3600}h`)
    const scopes = r.scopes ?? ['openid', 'profile', 'offline_access']
    if (!scopes.includes('openid')) source.report(at('scopes'), 'scopes must include openid')
    return {
      name: r.name,
      issuer: r.issuer,
      clientId: r.client_id,
      clientSecret: r.client_secret,
      scopes,
      userClaim: r.user_claim,
      groupsClaim: r.groups_claim ?? 'groups',
      groups: r.groups,
      maxAgeSeconds,
    }
  })
}
