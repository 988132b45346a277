// A target: the system behind an asset where jit makes an account for each session (PostgreSQL
// first). It lives in the asset's attributes (`target`), written in inventory files as
//   target: { kind: postgres, url: postgres://ADMIN@HOST:PORT/DB, password: { env: VAR } | { file: PATH },
//             scopes: { read: [app_read], write: [app_read, app_write] } }
// The admin credential is only named (an environment variable or a file the broker reads), never
// written here; a scope maps to role names the target already has, so no SQL text from the
// inventory is ever run. This module owns that shape: validation for files and the store, and
// reading it back (fail closed: a malformed target opens nothing).

export const TARGET_KINDS = ['postgres'] as const
export type TargetKind = (typeof TARGET_KINDS)[number]

/** Where the broker finds the admin password: named, never literal. */
export type SecretRef = { env: string } | { file: string }

export interface TargetSpec {
  kind: TargetKind
  /** The admin connection, without a password: postgres://USER@HOST:PORT/DATABASE. */
  url: string
  password: SecretRef
  /** Scope → the roles the session's account is granted. */
  scopes: Record<string, string[]>
}

/** A role name the target already has: a plain lower-case identifier. */
export const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The JSON schema of a target in an inventory file (inventory.ts); targetProblems checks the rest. */
export const targetSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'url', 'password', 'scopes'],
  properties: {
    kind: { type: 'string', minLength: 1 },
    url: { type: 'string', minLength: 1 },
    password: {
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['env'], properties: { env: { type: 'string', pattern: ENV_NAME.source } } },
        { type: 'object', additionalProperties: false, required: ['file'], properties: { file: { type: 'string', minLength: 1 } } },
      ],
    },
    scopes: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string', pattern: ROLE_NAME.source }, minItems: 1 } },
  },
} as const

/** What is wrong with a target, in words; empty when it is good to store and use. */
export function targetProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['target must be an object with kind, url, password and scopes']
  const t = value as Record<string, unknown>
  const problems: string[] = []
  if (t.kind === 'mqtt') problems.push('target kind mqtt is not supported yet (postgres is)')
  else if (!TARGET_KINDS.includes(t.kind as TargetKind)) problems.push(`target kind must be one of ${TARGET_KINDS.join(', ')}`)
  problems.push(...urlProblems(t.url))
  const password = t.password as Record<string, unknown> | undefined
  const named = password && typeof password === 'object' && Object.keys(password).length === 1
  if (!(named && ((typeof password.env === 'string' && ENV_NAME.test(password.env)) || (typeof password.file === 'string' && password.file.length > 0)))) {
    problems.push('target password must be named, never written: { env: VARIABLE } or { file: PATH }')
  }
  const scopes = t.scopes as Record<string, unknown> | undefined
  if (!scopes || typeof scopes !== 'object' || Array.isArray(scopes) || Object.keys(scopes).length === 0) problems.push('target scopes must map at least one scope to the roles it grants')
  else {
    for (const [scope, roles] of Object.entries(scopes)) {
      if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => typeof r === 'string' && ROLE_NAME.test(r))) {
        problems.push(`target scope ${scope} must list role names (lower-case letters, digits, _)`)
      }
    }
  }
  return problems
}

function urlProblems(url: unknown): string[] {
  if (typeof url !== 'string') return ['target url is missing']
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return [`target url "${url}" is not a URL (postgres://USER@HOST:PORT/DATABASE)`]
  }
  const problems: string[] = []
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') problems.push('target url must start with postgres://')
  const passwordOption = [...parsed.searchParams.keys()].some((key) => /password/i.test(key))
  if (parsed.password || passwordOption) problems.push('target url must not carry a password: name it with password: { env } or { file }')
  if (!parsed.username || !parsed.hostname || parsed.pathname.length <= 1) problems.push('target url must name the admin user, the host and the database (postgres://USER@HOST:PORT/DATABASE)')
  return problems
}

/** The asset's target, if it names a well-formed one; throws the problems if it names a bad one. */
export function targetOf(attributes: Record<string, unknown>): TargetSpec | undefined {
  if (attributes.target === undefined) return undefined
  const problems = targetProblems(attributes.target)
  if (problems.length > 0) throw new Error(problems.join('; '))
  return attributes.target as TargetSpec
}

/** The target's name as audit records and `jit sessions show` give it: kind://host:port/database. */
export function targetName(spec: TargetSpec): string {
  const url = new URL(spec.url)
  return `${spec.kind}://${url.hostname}:${url.port || '5432'}${decodeURIComponent(url.pathname)}`
}
