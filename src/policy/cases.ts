// `jit policy test`: a file of cases, each a request with the decision it expects, run against
// a policy and an inventory before the policy is released. A mismatch is reported as a diff of
// the fields the case names.
import { dirname, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { parseDuration } from '../util/ttl.js'
import { evaluate } from './evaluate.js'
import { factsOf, loadInventoryFile } from './inventory.js'
import { loadPolicyFile } from './load.js'
import { duration, names } from './schema.js'
import type { Decision, Holder, Subject } from './types.js'
import { parseYamlSource, readSourceFile } from './yaml-source.js'

export interface Expectation {
  allow: boolean
  rule?: string | null
  approvals?: number
  approvers?: string[]
  cache?: boolean
  /** Each must appear (as a substring) in some reason of the decision. */
  reasons?: string[]
}

export interface CaseResult {
  name: string
  line: number
  ok: boolean
  expected: Expectation
  actual: { allow: boolean; rule: string | null; approvals: number; approvers: string[]; cache: boolean; reasons: string[] }
  /** One line per field that differs. */
  diff: string[]
}

export interface CasesReport {
  policy: string
  inventory?: string
  cases: string
  passed: number
  failed: number
  results: CaseResult[]
}

const casesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'cases'],
  properties: {
    version: { const: 1 },
    policy: { type: 'string', minLength: 1 },
    inventory: { type: 'string', minLength: 1 },
    at: { type: 'string', minLength: 1 },
    users: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['roles'],
        properties: { roles: { type: 'array', items: { type: 'string', minLength: 1 } }, org: { type: 'string', minLength: 1 } },
      },
    },
    cases: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'user', 'asset', 'scope', 'expect'],
        properties: {
          name: { type: 'string', minLength: 1 },
          user: { type: 'string', minLength: 1 },
          asset: { type: 'string', minLength: 1 },
          scope: { type: 'string', minLength: 1 },
          ttl: duration,
          ticket: { type: 'string', minLength: 1 },
          at: { type: 'string', minLength: 1 },
          state: { enum: ['running', 'maintenance', 'stopped', 'offline'] },
          held_by: {
            type: 'object',
            additionalProperties: false,
            required: ['user', 'until'],
            properties: { user: { type: 'string', minLength: 1 }, scope: { type: 'string', minLength: 1 }, until: { type: 'string', minLength: 1 } },
          },
          expect: {
            type: 'object',
            additionalProperties: false,
            required: ['allow'],
            properties: {
              allow: { type: 'boolean' },
              rule: { type: ['string', 'null'] },
              approvals: { type: 'integer', minimum: 0 },
              approvers: { type: 'array', items: { type: 'string' } },
              cache: { type: 'boolean' },
              reasons: names,
            },
          },
        },
      },
    },
  },
} as const

const validate = new Ajv({ allErrors: true, strict: false }).compile(casesSchema)

interface RawCase {
  name: string
  user: string
  asset: string
  scope: string
  ttl?: string
  ticket?: string
  at?: string
  state?: 'running' | 'maintenance' | 'stopped' | 'offline'
  held_by?: { user: string; scope?: string; until: string }
  expect: Expectation
}

interface RawCases {
  policy?: string
  inventory?: string
  at?: string
  users?: Record<string, { roles: string[]; org?: string }>
  cases: RawCase[]
}

export interface RunCasesOptions {
  /** Overrides the policy the cases file names. */
  policyFile?: string
  inventoryFile?: string
}

export function runCasesFile(casesFile: string, options: RunCasesOptions = {}): CasesReport {
  const source = parseYamlSource<RawCases>(readSourceFile(casesFile), casesFile, validate)
  const raw = source.data
  const relative = (file: string | undefined) => file && resolve(dirname(casesFile), file)
  const policyFile = options.policyFile ?? relative(raw.policy)
  if (!policyFile) {
    source.report([], 'name the policy to test: "policy: FILE" in the cases file, or --policy FILE')
    source.done()
  }
  const inventoryFile = options.inventoryFile ?? relative(raw.inventory)
  const policy = loadPolicyFile(policyFile!)
  const inventory = new Map((inventoryFile ? loadInventoryFile(inventoryFile) : []).map((asset) => [asset.path, asset]))

  const time = (text: string | undefined, path: (string | number)[]): number | undefined => {
    if (text === undefined) return undefined
    const ms = Date.parse(text)
    if (Number.isNaN(ms)) source.report(path, `"${text}" is not a time; expected ISO 8601 such as 2026-03-28T02:30:00+01:00`)
    return ms
  }
  const defaultAt = time(raw.at, ['at'])
  const prepared = raw.cases.map((c, i) => {
    const userRecord = raw.users?.[c.user]
    if (!userRecord) source.report(['cases', i, 'user'], `unknown user "${c.user}"; define it under users:`)
    const asset = inventory.get(c.asset)
    if (!asset && inventoryFile) source.report(['cases', i, 'asset'], `asset ${c.asset} is not in ${inventoryFile}`)
    if (c.expect.rule && !policy.rules.some((r) => r.name === c.expect.rule)) source.report(['cases', i, 'expect', 'rule'], `the policy has no rule "${c.expect.rule}"`)
    const at = time(c.at, ['cases', i, 'at']) ?? defaultAt
    if (at === undefined) source.report(['cases', i], 'give the case a time: "at:" on the case or at the top of the file')
    const until = c.held_by ? time(c.held_by.until, ['cases', i, 'held_by', 'until']) : undefined
    return { c, line: source.lineOf(['cases', i]) ?? 0, user: userRecord, asset, at, until }
  })
  source.done()

  const results = prepared.map(({ c, line, user, asset, at, until }): CaseResult => {
    const subject: Subject = { name: c.user, roles: user!.roles, org: user!.org }
    const facts = asset ? factsOf(asset.path, { ...asset.attributes, ...(c.state ? { state: c.state } : {}) }) : undefined
    const holders: Holder[] = c.held_by ? [{ user: c.held_by.user, scope: c.held_by.scope ?? c.scope, until: new Date(until!).toISOString() }] : []
    const decision = evaluate(policy, { user: subject, asset: c.asset, scope: c.scope, ttlSeconds: parseDuration(c.ttl ?? '30m'), ticket: c.ticket, facts, at, holders })
    return compare(c.name, line, c.expect, decision)
  })
  const failed = results.filter((r) => !r.ok).length
  return { policy: policyFile!, inventory: inventoryFile, cases: casesFile, passed: results.length - failed, failed, results }
}

function compare(name: string, line: number, expected: Expectation, decision: Decision): CaseResult {
  const actual = {
    allow: decision.allow,
    rule: decision.rule ?? null,
    approvals: decision.approvalsNeeded,
    approvers: decision.approverRoles,
    cache: decision.cacheAllowed,
    reasons: decision.reasons,
  }
  const diff: string[] = []
  const show = (value: unknown) => (value === null || value === undefined ? '(none)' : Array.isArray(value) ? `[${value.join(', ')}]` : String(value))
  const field = (key: string, want: unknown, got: unknown) => {
    if (want !== undefined && JSON.stringify(want) !== JSON.stringify(got)) diff.push(`${key}: expected ${show(want)}, got ${show(got)}`)
  }
  field('allow', expected.allow, actual.allow)
  field('rule', expected.rule, actual.rule)
  field('approvals', expected.approvals, actual.approvals)
  if (expected.approvers !== undefined) field('approvers', [...expected.approvers].sort(), [...actual.approvers].sort())
  field('cache', expected.cache, actual.cache)
  for (const reason of expected.reasons ?? []) {
    if (!actual.reasons.some((r) => r.includes(reason))) diff.push(`reasons: expected one containing "${reason}", got ${actual.reasons.length ? actual.reasons.map((r) => `"${r}"`).join('; ') : '(none)'}`)
  }
  return { name, line, ok: diff.length === 0, expected, actual, diff }
}
