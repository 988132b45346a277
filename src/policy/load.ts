// Loads a policy file: YAML → schema validation → semantic checks → a compiled Policy.
// Every problem is reported with file, line and column and what was expected.
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml'
import { parseDuration } from '../util/ttl.js'
import { assetPatternError } from './asset-pattern.js'
import { policySchema } from './schema.js'
import type { Policy, Rule } from './types.js'

export interface PolicyProblem {
  file: string
  line: number
  column: number
  message: string
}

export class PolicyLoadError extends Error {
  constructor(readonly problems: PolicyProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join('\n'))
    this.name = 'PolicyLoadError'
  }
}

const ajv = new Ajv({ allErrors: true, strict: false })
const validate = ajv.compile(policySchema)

export function loadPolicyFile(file: string): Policy {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new PolicyLoadError([{ file, line: 1, column: 1, message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})` }])
  }
  return parsePolicy(text, file)
}

export function parsePolicy(text: string, file = '<policy>'): Policy {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number, message: string): PolicyProblem => {
    const { line, col } = lineCounter.linePos(offset)
    return { file, line, column: col, message }
  }
  if (doc.errors.length > 0) throw new PolicyLoadError(doc.errors.map((e) => at(e.pos[0], e.message.split('\n')[0])))

  const data = doc.toJS() as unknown
  const problems: PolicyProblem[] = []
  const locate = (path: (string | number)[], message: string) => problems.push(at(offsetOf(doc, path), message))

  if (!validate(data)) {
    for (const error of dedupe(validate.errors ?? [])) {
      const path = error.instancePath.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~')))
      let message = error.message ?? 'is not valid'
      if (error.keyword === 'additionalProperties') {
        const extra = (error.params as { additionalProperty: string }).additionalProperty
        path.push(extra)
        message = `unknown key "${extra}"`
      } else if (error.keyword === 'required') {
        message = `missing "${(error.params as { missingProperty: string }).missingProperty}"`
      } else if (error.keyword === 'pattern' && path.at(-1) === 'max_ttl') {
        message = 'expected a duration such as 30m, 2h or 1h30m'
      } else if (error.keyword === 'oneOf' && path.at(-1) === 'approval') {
        message = 'expected "none" or { count, from_roles }'
      }
      locate(path, `${path.length ? path.join('.') + ': ' : ''}${message}`)
    }
    throw new PolicyLoadError(problems)
  }

  const raw = data as {
    break_glass?: { who: Rule['who']; assets: string[]; scopes: string[]; max_ttl: string; notify?: string[]; review_due: string }
    tickets?: { formats?: { system: string; pattern: string }[] }
    rules: { name: string; description?: string; who: Rule['who']; assets: string[]; scopes: string[]; max_ttl: string; approval?: 'none' | { count: number; from_roles: string[] }; cache?: boolean }[]
  }
  const ticketFormats = (raw.tickets?.formats ?? []).flatMap((format, i) => {
    try {
      return [{ system: format.system, pattern: new RegExp(format.pattern) }]
    } catch {
      locate(['tickets', 'formats', i, 'pattern'], `not a valid regular expression: ${format.pattern}`)
      return []
    }
  })
  const seen = new Set<string>()
  const rules: Rule[] = raw.rules.map((rule, i) => {
    if (seen.has(rule.name)) locate(['rules', i, 'name'], `rule name "${rule.name}" is used twice`)
    seen.add(rule.name)
    rule.assets.forEach((pattern, j) => {
      const problem = assetPatternError(pattern)
      if (problem) locate(['rules', i, 'assets', j], `asset pattern ${problem}`)
    })
    let maxTtlSeconds = 0
    try {
      maxTtlSeconds = parseDuration(rule.max_ttl)
    } catch {
      locate(['rules', i, 'max_ttl'], 'expected a duration such as 30m, 2h or 1h30m')
    }
    if (maxTtlSeconds === 0 || maxTtlSeconds > 7 * 86400) locate(['rules', i, 'max_ttl'], 'max_ttl must be more than 0 and at most 7d')
    const approval = rule.approval === undefined || rule.approval === 'none' ? null : { count: rule.approval.count, fromRoles: rule.approval.from_roles }
    return { name: rule.name, description: rule.description, who: rule.who, assets: rule.assets, scopes: rule.scopes, maxTtlSeconds, approval, cache: rule.cache ?? true }
  })
  const bg = raw.break_glass
  const breakGlass = bg && {
    who: bg.who,
    assets: bg.assets,
    scopes: bg.scopes,
    maxTtlSeconds: safeDuration(bg.max_ttl, () => locate(['break_glass', 'max_ttl'], 'expected a duration such as 30m')),
    notify: bg.notify ?? [],
    reviewDueSeconds: safeDuration(bg.review_due, () => locate(['break_glass', 'review_due'], 'expected a duration such as 24h')),
  }
  if (problems.length > 0) throw new PolicyLoadError(problems)
  return { ticketFormats, rules, breakGlass, source: file }
}

function safeDuration(text: string, onError: () => void): number {
  try {
    return parseDuration(text)
  } catch {
    onError()
    return 0
  }
}

/** Offset of the YAML node at path, or of its nearest existing parent. */
function offsetOf(doc: Document, path: (string | number)[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)
    if (node && typeof node === 'object' && 'range' in node && node.range) {
      // For a missing key, point at the map that lacks it; for an unknown key, at the key itself.
      if (depth === path.length && (isMap(node) || isSeq(node))) return node.range[0]
      return (node.range as [number, number, number])[0]
    }
    const parent = depth > 0 ? doc.getIn(path.slice(0, depth - 1), true) : undefined
    if (isMap(parent)) {
      const pair = parent.items.find((item) => (item.key as { value?: unknown } | null)?.value === path[depth - 1])
      const key = pair?.key as { range?: [number, number, number] } | undefined
      if (key?.range) return key.range[0]
    }
  }
  return 0
}

function dedupe<T extends { instancePath: string; keyword: string }>(errors: T[]): T[] {
  // oneOf failures also report each branch's error; keep the summary only.
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath))
  return errors.filter((e) => e.keyword === 'oneOf' || !oneOfPaths.has(e.instancePath))
}
