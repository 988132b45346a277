// A workload's SPIFFE ID: spiffe://TRUST-DOMAIN/workload/NAME, the trust domain being the
// broker's (--trust-domain). The ID also names the workload's principal in sessions and audit.
export const DEFAULT_TRUST_DOMAIN = 'jit.local'

const TRUST_DOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/
export const WORKLOAD_NAME = /^[a-z][a-z0-9._-]{0,63}$/
const PREFIX = 'spiffe://'

export function isTrustDomain(domain: string): boolean {
  return TRUST_DOMAIN.test(domain) && !domain.includes('..')
}

export function spiffeIdOf(trustDomain: string, name: string): string {
  return `${PREFIX}${trustDomain}/workload/${name}`
}

/** Whether a principal name is a workload's (people's names never hold "://"). */
export const isWorkloadPrincipal = (name: string): boolean => name.startsWith(PREFIX)

export function trustDomainOf(spiffeId: string): string {
  return spiffeId.slice(PREFIX.length).split('/')[0]
}
