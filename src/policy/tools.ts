// What `jit policy check | test | explain` do, offline, on files (and, for explain, optionally
// the broker's data folder for users, assets and who holds what). File mistakes surface as
// PolicyInvalidError (exit 2) with one line per problem: file:line:col: what was expected.
import { PolicyInvalidError, UsageError } from '../errors.js'
import { parseDuration } from '../util/ttl.js'
import { isAssetPath } from './asset-pattern.js'
import { runCasesFile, type CasesReport, type RunCasesOptions } from './cases.js'
import { explain, type Explanation } from './explain.js'
import { factsOf, loadInventoryFile } from './inventory.js'
import { loadPolicyFile } from './load.js'
import type { AssetFacts, Holder, Policy, Subject } from './types.js'
import { PolicyLoadError, type PolicyProblem } from './yaml-source.js'

export interface CheckResult {
  ok: true
  file: string
  rules: number
  ticketSystems: string[]
  breakGlass: boolean
  digest: string
}

function invalid(error: PolicyLoadError): PolicyInvalidError {
  const files = [...new Set(error.problems.map((p) => p.file))].join(', ')
  const n = error.problems.length
  return new PolicyInvalidError(`${files} has ${n} problem${n === 1 ? '' : 's'}.`, ['Fix each line named above, then run the command again.'], {
    problems: error.problems,
    reasons: error.problems.map(formatProblem),
  })
}

export const formatProblem = (p: PolicyProblem) => `${p.file}:${p.line}:${p.column}: ${p.message}`

function loading<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (error instanceof PolicyLoadError) throw invalid(error)
    throw error
  }
}

export function checkPolicy(file: string): CheckResult {
  const policy = loading(() => loadPolicyFile(file))
  return { ok: true, file, rules: policy.rules.length, ticketSystems: policy.ticketFormats.map((f) => f.system), breakGlass: Boolean(policy.breakGlass), digest: policy.digest }
}

export function testPolicy(casesFile: string, options: RunCasesOptions): CasesReport {
  return loading(() => runCasesFile(casesFile, options))
}

export interface ExplainOptions {
  policyFile: string
  /** Users, assets and active sessions as a broker knows them at a time (e.g. from its data folder). */
  known?: (at: number) => Promise<KnownFacts>
  inventoryFile?: string
  user: string
  roles?: string[]
  org?: string
  asset: string
  scope: string
  ticket?: string
  ttl: string
  at?: string
}

/** What a broker's data folder knows about the user and the asset (read by the broker wing). */
export interface KnownFacts {
  user?: Subject
  asset?: AssetFacts
  holders: Holder[]
}

export async function explainAccess(options: ExplainOptions): Promise<Explanation> {
  const policy: Policy = loading(() => loadPolicyFile(options.policyFile))
  if (!isAssetPath(options.asset)) throw new UsageError(`"${options.asset}" is not an asset path (like site/area/line/cell/asset).`)
  const ttlSeconds = parseDuration(options.ttl)
  let at = Date.now()
  if (options.at !== undefined) {
    at = Date.parse(options.at)
    if (Number.isNaN(at)) throw new UsageError(`--at "${options.at}" is not a time.`, ['Give an ISO 8601 time such as 2026-03-28T02:30:00+01:00.'])
  }

  let subject: Subject | undefined = options.roles?.length ? { name: options.user, roles: options.roles, org: options.org } : undefined
  let facts: AssetFacts | undefined
  let holders: Holder[] = []
  if (options.inventoryFile) {
    const asset = loading(() => loadInventoryFile(options.inventoryFile!)).find((a) => a.path === options.asset)
    if (asset) facts = factsOf(asset.path, asset.attributes)
  }
  if (options.known) {
    const known = await options.known(at)
    subject ??= known.user
    facts ??= known.asset
    holders = known.holders
  }
  if (!subject) {
    throw new UsageError(`Who is ${options.user}? Their roles are not known.`, ['Pass --role (and --org for a vendor), or --data DIR to read the user from the broker.'])
  }
  return explain(policy, { user: subject, asset: options.asset, scope: options.scope, ttlSeconds, ticket: options.ticket, facts, at, holders })
}
