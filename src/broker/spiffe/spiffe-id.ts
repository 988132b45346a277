// SPIFFE IDs and trust domain names as the SPIFFE ID standard writes them: spiffe://TRUST-DOMAIN/PATH,
// the trust domain in lower case letters, digits, '.', '-' and '_', the path segments in letters,
// digits, '.', '-' and '_' (never empty, '.' or '..'), no port, user, query or fragment.
import { badInput } from '../api-error.js'

const TRUST_DOMAIN = /^[a-z0-9._-]+$/
const SEGMENT = /^[A-Za-z0-9._-]+$/
const MAX_ID_BYTES = 2048
/** The trust domain when --trust-domain is not given (the same on the broker and jit admin's data folder). */
export const DEFAULT_TRUST_DOMAIN = 'jit.local'

/** Why name is not a trust domain name, or undefined when it is one. */
export function trustDomainProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 255) return 'a trust domain name has 1 to 255 characters'
  if (!TRUST_DOMAIN.test(name)) return 'a trust domain name has only lower case letters, digits, ".", "-" and "_"'
  return undefined
}

export const trustDomainId = (trustDomain: string) => `spiffe://${trustDomain}`

/** Why id is not a workload SPIFFE ID of trustDomain, or undefined when it is one. */
export function spiffeIdProblem(id: string, trustDomain: string): string | undefined {
  if (Buffer.byteLength(id) > MAX_ID_BYTES) return `a SPIFFE ID has at most ${MAX_ID_BYTES} bytes`
  const prefix = `${trustDomainId(trustDomain)}/`
  if (!id.startsWith(prefix)) return `a SPIFFE ID of this broker starts with ${prefix}`
  const segments = id.slice(prefix.length).split('/')
  for (const segment of segments) {
    if (segment === '') return 'a SPIFFE ID path has no empty segment (no "//", no trailing "/")'
    if (segment === '.' || segment === '..') return 'a SPIFFE ID path has no "." or ".." segment'
    if (!SEGMENT.test(segment)) return 'a SPIFFE ID path has only letters, digits, ".", "-" and "_" between its "/"'
  }
  return undefined
}

/** Throws a 400 unless id is a workload SPIFFE ID of trustDomain. */
export function requireSpiffeId(id: string, trustDomain: string): void {
  const problem = spiffeIdProblem(id, trustDomain)
  if (problem) throw badInput(`"${id.slice(0, 200)}" is not a SPIFFE ID of trust domain ${trustDomain}: ${problem}.`)
}

export const isTrustDomain = (name: string): boolean => trustDomainProblem(name) === undefined

/** A registered workload's name, the last segment of its SPIFFE ID. */
export const WORKLOAD_NAME = /^[a-z][a-z0-9._-]{0,63}$/

/** A workload's SPIFFE ID: spiffe://TRUST-DOMAIN/workload/NAME; it also names its principal in sessions and audit. */
export const spiffeIdOf = (trustDomain: string, name: string): string => `${trustDomainId(trustDomain)}/workload/${name}`

/** Whether a principal name is a workload's (people's names never hold "://"). */
export const isWorkloadPrincipal = (name: string): boolean => name.startsWith('spiffe://')

export const trustDomainOf = (spiffeId: string): string => spiffeId.slice('spiffe://'.length).split('/')[0]
