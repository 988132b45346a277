// YAML files the operator writes (policy, inventory, test cases): parse, validate against a JSON
// schema, and report every problem with file, line and column and what was expected.
import { readFileSync } from 'node:fs'
import type { ValidateFunction } from 'ajv'
import { isMap, isSeq, LineCounter, parseDocument, type Document, visit } from 'yaml'

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

export type YamlPath = (string | number)[]

/** A parsed, schema-valid document and a way to point at any of its nodes. */
export interface YamlSource<T> {
  data: T
  file: string
  problems: PolicyProblem[]
  /** Records a problem at the node at path (or its nearest existing parent). */
  report(path: YamlPath, message: string, atKey?: boolean): void
  /** Line of the node at path; undefined for a valid JSON file, whose positions are never computed. */
  lineOf(path: YamlPath): number | undefined
  /** Throws a PolicyLoadError if anything was reported. */
  done(): void
}

export function readSourceFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new PolicyLoadError([{ file, line: 1, column: 1, message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})` }])
  }
}

/** Words for schema errors on particular keys, where ajv's own would puzzle an operator. */
export type Hint = (keyword: string, path: YamlPath, params: Record<string, unknown>) => string | undefined

/**
 * JSON is YAML, and parses a hundred times faster: a large inventory exported by a plant system
 * as JSON loads in a fraction of the time. Positions are worked out (by the YAML parser) only
 * once there is a problem to point at.
 */
export function parseYamlSource<T>(text: string, file: string, validate: ValidateFunction, hint: Hint = () => undefined): YamlSource<T> {
  if (!/^\s*[{[]/.test(text)) return parseLocated<T>(text, file, validate, hint)
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return parseLocated<T>(text, file, validate, hint)
  }
  if (!validate(data)) return parseLocated<T>(text, file, validate, hint)
  let located: YamlSource<T> | undefined
  const problems: PolicyProblem[] = []
  return {
    data: data as T,
    file,
    problems,
    report(path, message, atKey) {
      located ??= parseLocated<T>(text, file, validate, hint)
      located.report(path, message, atKey)
      problems.splice(0, problems.length, ...located.problems)
    },
    lineOf: (path) => located?.lineOf(path),
    done() {
      if (problems.length > 0) throw new PolicyLoadError(byPosition(problems))
    },
  }
}

function parseLocated<T>(text: string, file: string, validate: ValidateFunction, hint: Hint): YamlSource<T> {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number, message: string): PolicyProblem => {
    const { line, col } = lineCounter.linePos(offset)
    return { file, line, column: col, message }
  }
  if (doc.errors.length > 0) throw new PolicyLoadError(doc.errors.map((e) => at(e.pos[0], e.message.split('\n')[0])))

  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 100 })
  } catch (error) {
    // A "*" where text was meant starts an alias to an anchor that does not exist (or aliases
    // multiply past the limit): report it where it stands, like any other mistake.
    let offset = 0
    visit(doc, {
      Alias(_, node) {
        offset = node.range?.[0] ?? 0
        return visit.BREAK
      },
    })
    throw new PolicyLoadError([at(offset, `${(error as Error).message.split('\n')[0]}; "*" starts a YAML alias: quote the value if it is text`)])
  }
  const problems: PolicyProblem[] = []
  const report = (path: YamlPath, message: string, atKey = false) => problems.push(at(offsetOf(doc, path, atKey), message))

  if (!validate(data)) {
    for (const error of dedupe(validate.errors ?? [])) {
      const path: YamlPath = error.instancePath.split('/').slice(1).map((part) => (/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~')))
      const params = error.params as Record<string, unknown>
      let message = hint(error.keyword, path, params) ?? error.message ?? 'is not valid'
      let atKey = false
      if (error.keyword === 'additionalProperties') {
        path.push(params.additionalProperty as string)
        message = `unknown key "${params.additionalProperty as string}"`
        atKey = true
      } else if (error.keyword === 'required') {
        message = `missing "${params.missingProperty as string}"`
      } else if (error.keyword === 'enum') {
        message = `expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
      }
      report(path, `${path.length ? path.join('.') + ': ' : ''}${message}`, atKey)
    }
    throw new PolicyLoadError(byPosition(problems))
  }
  return {
    data: data as T,
    file,
    problems,
    report,
    lineOf: (path) => lineCounter.linePos(offsetOf(doc, path, false)).line,
    done() {
      if (problems.length > 0) throw new PolicyLoadError(byPosition(problems))
    },
  }
}

const byPosition = (problems: PolicyProblem[]) => problems.sort((a, b) => a.line - b.line || a.column - b.column)

/** Offset of the YAML node at path (or of its key), or of its nearest existing parent. */
function offsetOf(doc: Document, path: YamlPath, atKey: boolean): number {
  if (atKey && path.length > 0) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true)
    if (isMap(parent)) {
      const key = parent.items.find((item) => (item.key as { value?: unknown } | null)?.value === path.at(-1))?.key as { range?: [number, number, number] } | undefined
      if (key?.range) return key.range[0]
    }
  }
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)
    if (node && typeof node === 'object' && 'range' in node && node.range) {
      if (depth === path.length && (isMap(node) || isSeq(node))) return node.range[0]
      return (node.range as [number, number, number])[0]
    }
    // A key with an empty value has no node of its own: point at the key.
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
